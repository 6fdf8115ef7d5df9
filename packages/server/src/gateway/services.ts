import type { IdentityServices } from '../identity/services.js';
import type { AuditBatcher } from '../platform/audit/batcher.js';
import type { OutboundServices } from '../platform/services.js';
import type { RoutingCache } from './route-cache.js';

export interface GatewayServices extends IdentityServices, OutboundServices {
  routing: RoutingCache;
  /** Usage rows are batched off the request path. */
  usageAudit: AuditBatcher;
}
