import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Config } from '../platform/config.js';
import type { Mailer } from '../platform/mailer.js';
import type { LimiterFactory } from '../platform/ratelimit.js';
import type { LoginThrottle } from './accounts/throttle.js';
import type { Authenticator } from './authenticate.js';

/** What identity and tenancy handlers need; a subset of the server's Services. */
export interface IdentityServices {
  config: Config;
  db: Database;
  ring: KeyRing;
  jwtSecret: Uint8Array;
  logger: Logger;
  auth: Authenticator;
  mailer: Mailer;
  throttle: LoginThrottle;
  limiters: LimiterFactory;
  bcryptCost: number;
  /** Base URL for links in e-mails. */
  publicUrl: string;
  /** Called after an org's settings change or the org is deleted, so per-node caches drop it. */
  orgChanged(orgId: string): void;
}
