import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Config } from './config.js';
import type { OperatorAlerts } from './operator-alerts.js';
import type { GuardedAgent } from './outbound/dispatcher.js';
import type { OutboundPolicy } from './outbound/policy.js';
import type { LimiterFactory } from './ratelimit.js';
import type { PlatformSettings } from './settings.js';

/**
 * The base every domain's services type extends: what any handler may need, whatever its domain. A domain adds
 * only what it really uses (identity: authentication; gateway: routing; dbaccess: the agent hub), and picks
 * shared pieces such as {@link OutboundServices} by composition, never by extending another domain's type.
 */
export interface PlatformServices {
  config: Config;
  db: Database;
  ring: KeyRing;
  logger: Logger;
  limiters: LimiterFactory;
  /** Operator-set platform settings (environment first): read `settings.current()` per use, never cache it. */
  settings: PlatformSettings;
  /** Posts platform events to the operators' Slack and Teams webhooks (best effort, never throws). */
  operatorAlerts: OperatorAlerts;
  /** Base URL for links in e-mails and pages. */
  publicUrl: string;
  /**
   * Called after an org's settings or providers change or the org is deleted: every node's routing cache drops
   * it (this one at once, the others on the node bus message). Never rejects.
   */
  orgChanged(orgId: string): Promise<void>;
}

/** For domains that send requests to user-supplied URLs: the guarded agent and the policy it enforces. */
export interface OutboundServices {
  /** Every connection's address is vetted (no private/loopback/metadata unless allow-listed). */
  outbound: GuardedAgent;
  /** The operator allow-list, for save-time URL checks and the plain-http rule on credentials. */
  outboundPolicy: OutboundPolicy;
}
