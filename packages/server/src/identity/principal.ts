import type { Region } from '../platform/params.js';
import type { ApiKeyScope, Role } from '../platform/permissions.js';

/** A dashboard user holding a session JWT. */
export interface SessionPrincipal {
  kind: 'session';
  userId: string;
  email: string;
  isOperator: boolean;
  totpEnabled: boolean;
  /** Whether the account proved its e-mail address (link, reset, invitation, or grandfathered). */
  emailVerified: boolean;
  /** Authentication methods of this session: ['pwd'] or ['pwd', 'otp']. */
  amr: string[];
  jti: string;
  exp: number;
  /** The sign-in (refresh-token family) of this session; absent on sessions issued before families existed. */
  familyId?: string;
}

/** A program holding an org API key (`rk_live_...`). */
export interface ApiKeyPrincipal {
  kind: 'api_key';
  keyId: string;
  orgId: string;
  redaction: 'inherit' | 'on' | 'off';
  /** Overrides of the org's redaction mode and answer redaction (null: the org's setting). */
  redactionMode: 'mask' | 'reversible' | null;
  redactCompletions: boolean | null;
  region: Region | null;
  /** What the key may do (`gateway`, `db.query`, `skills.publish`, `audit.read`). */
  scopes: readonly ApiKeyScope[];
  /** The member who created it: publishing also needs them to still hold skills.publish. */
  createdBy: string | null;
}

// The scopes live with the permission matrix (platform/permissions.ts): org routes declare theirs in their config.
export { API_KEY_SCOPES, type ApiKeyScope, DEFAULT_API_KEY_SCOPES } from '../platform/permissions.js';

/** A skill runtime holding a runtime token (`rt_live_...`): sync and telemetry of one org, nothing else. */
export interface RuntimePrincipal {
  kind: 'runtime';
  tokenId: string;
  orgId: string;
}

/**
 * The `rampart` CLI holding a CLI credential (`cli_live_...`, issued by the device authorization grant): its own
 * scope, accepted only by the routes that ask for it (never where a dashboard session is required).
 */
export interface CliPrincipal {
  kind: 'cli';
  userId: string;
  credentialId: string;
}

export type Principal = SessionPrincipal | ApiKeyPrincipal | RuntimePrincipal | CliPrincipal;

/** The caller's standing in one org, re-read from the database on every request. */
export interface OrgAccess {
  orgId: string;
  role: Role;
  principal: SessionPrincipal;
}

/**
 * Who reads an org route that also admits API keys (`requireOrgOrKey`): a member session, or a key of the org
 * with the route's scope; `role` is the session's role or the key creator's, re-read now.
 */
export interface OrgReader {
  orgId: string;
  role: Role;
  principal: SessionPrincipal | ApiKeyPrincipal;
}
