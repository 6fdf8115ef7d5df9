import type { Region } from '../platform/params.js';
import type { Role } from '../platform/permissions.js';

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

/** API key scopes. Keys created without `scopes` get {@link DEFAULT_API_KEY_SCOPES}. */
export const API_KEY_SCOPES = ['gateway', 'db.query', 'skills.publish', 'audit.read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
/** What every key could do before scopes existed: kept as the default so existing clients keep working. */
export const DEFAULT_API_KEY_SCOPES: readonly ApiKeyScope[] = ['gateway', 'db.query', 'skills.publish'];

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
