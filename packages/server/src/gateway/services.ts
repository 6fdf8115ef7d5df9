import type { IdentityServices } from '../identity/services.js';
import type { AuditBatcher } from '../platform/audit/batcher.js';
import type { GuardedAgent } from '../platform/outbound/dispatcher.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import type { RoutingCache } from './route-cache.js';

export interface GatewayServices extends IdentityServices {
  /** Guarded undici agent: every connection's address is vetted (no private/loopback/metadata). */
  outbound: GuardedAgent;
  outboundPolicy: OutboundPolicy;
  routing: RoutingCache;
  /** Usage rows are batched off the request path. */
  usageAudit: AuditBatcher;
}
