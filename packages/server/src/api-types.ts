/**
 * The API's answers as TypeScript types, inferred from the routes' own zod response schemas (and, where a route
 * has none, from the function that builds the answer). The dashboard imports these with `import type`, so the
 * types follow the server and no server code reaches the browser bundle. Types only: nothing here runs.
 * @example import type { Job } from '@rampart/server/api-types';
 */
import type { z } from 'zod';
import type { connectionView, queryAuditRow } from './dbaccess/routes.js';
import type { providerView } from './gateway/routes.js';
import type { meView } from './identity/accounts/me-routes.js';
import type { apiKeyListed, listed } from './identity/credential-routes.js';
import type { cliCredential } from './identity/device/cli-credential-routes.js';
import type { deviceDetails } from './identity/device/routes.js';
import type { linkedIdentity, publicProvider } from './identity/oidc/routes.js';
import type { channelView, jobView, runView } from './jobs/routes.js';
import type { noticeDetailView, noticeView } from './mail/notice-routes.js';
import type { summary } from './secrets/routes.js';
import type { keyView, versionView } from './skills/routes.js';
import type { listTelemetry } from './skills/telemetry.js';
import type {
  operatorConnection,
  operatorCredential,
  operatorInvitation,
  operatorJob,
  operatorOrg,
  operatorOrgDetail,
  operatorRun,
  operatorWidget,
  platformVerify,
} from './tenancy/admin-routes.js';
import type { entry } from './tenancy/audit-routes.js';
import type { invitation, invitationLookup } from './tenancy/invitation-routes.js';
import type { member, settings } from './tenancy/routes.js';
import type { sinkView } from './tenancy/sinks/routes.js';
import type { clientConfig } from './web/routes.js';
import type { conversationView, dayView, messageView, unansweredView } from './widget/conversation-routes.js';
import type { billingView_, documentView, embeddingStatusView, widgetView_ } from './widget/routes.js';

/** Every `error` code an error answer can carry (docs/ERRORS.md). */
export type { ErrorCode } from './platform/errors.js';

// identity: credentials and CLI sign-in
/** A runtime token (or any bearer credential) as listed: name and public prefix, never the secret. */
export type CredentialListed = z.infer<typeof listed>;
export type ApiKeyListed = z.infer<typeof apiKeyListed>;
/** A CLI session from `rampart login` (GET /api/cli-credentials): a listed credential with its expiry. */
export type CliCredential = z.infer<typeof cliCredential>;
/** A pending `rampart login` request as the approval page shows it (GET /api/auth/device). */
export type DeviceRequest = z.infer<typeof deviceDetails>;
/** The signed-in user and their orgs (GET /api/me). */
export type Me = z.infer<typeof meView>;
/** A sign-in provider on the sign-in page, and one linked to the account. */
export type OidcProvider = z.infer<typeof publicProvider>;
export type LinkedIdentity = z.infer<typeof linkedIdentity>;
/** One of the signed-in user's own account events (GET /api/me/events). */
export type { AccountEvent } from './identity/accounts/events.js';

// tenancy
export type Member = z.infer<typeof member>;
export type OrgSettings = z.infer<typeof settings>;
export type Invitation = z.infer<typeof invitation>;
export type InvitationLookup = z.infer<typeof invitationLookup>;
export type AuditEntry = z.infer<typeof entry>;
/** An audit sink with its delivery lag (GET /api/orgs/:orgId/audit-sinks). */
export type AuditSink = z.infer<typeof sinkView>;

// gateway and secrets
export type ModelProvider = z.infer<typeof providerView>;
export type SecretSummary = z.infer<typeof summary>;
/** GET /usage: an org's gateway calls over a window, grouped by key, model, provider or UTC day. */
export type { GroupBy as UsageGroupBy, UsageGroup, UsageReport } from './gateway/usage.js';

// jobs
export type Job = z.infer<typeof jobView>;
export type JobRun = z.infer<typeof runView>;
export type AlertChannel = z.infer<typeof channelView>;

// web
export type ClientConfig = z.infer<typeof clientConfig>;

// widget
export type Widget = z.infer<typeof widgetView_>;
export type WidgetDocument = z.infer<typeof documentView>;
export type EmbeddingStatus = z.infer<typeof embeddingStatusView>;
export type Billing = z.infer<typeof billingView_>;
export type WidgetConversation = z.infer<typeof conversationView>;
export type WidgetThreadMessage = z.infer<typeof messageView>;
export type WidgetUnanswered = z.infer<typeof unansweredView>;
export type WidgetMessageDay = z.infer<typeof dayView>;

// dbaccess
export type Connection = z.infer<typeof connectionView>;
/** One row of GET /query-audit (a streamed answer, so built by a function rather than a schema). */
export type QueryAuditRow = ReturnType<typeof queryAuditRow>;

// skills
export type SigningKey = z.infer<typeof keyView>;
export type SkillVersion = z.infer<typeof versionView>;
export type TelemetryListed = Awaited<ReturnType<typeof listTelemetry>>[number];

// operator console (/api/admin: platform operators with a TOTP session)
/** GET /api/admin/orgs: one org with plan, usage, suspension and last activity. */
export type OperatorOrg = z.infer<typeof operatorOrg>;
/** GET /api/admin/orgs/:orgId: the same with the suspension's reason. */
export type OperatorOrgDetail = z.infer<typeof operatorOrgDetail>;
export type OperatorJob = z.infer<typeof operatorJob>;
export type OperatorRun = z.infer<typeof operatorRun>;
export type OperatorWidget = z.infer<typeof operatorWidget>;
export type OperatorConnection = z.infer<typeof operatorConnection>;
export type OperatorCredential = z.infer<typeof operatorCredential>;
export type OperatorInvitation = z.infer<typeof operatorInvitation>;
/** POST /api/admin/audit/verify. */
export type PlatformAuditVerify = z.infer<typeof platformVerify>;

// operator console: incident notices
/** An incident notice with its delivery status (GET /api/admin/notices). */
export type OperatorNotice = z.infer<typeof noticeView>;
/** One incident notice: its text and the delivery status per org (GET /api/admin/notices/:noticeId). */
export type OperatorNoticeDetail = z.infer<typeof noticeDetailView>;
