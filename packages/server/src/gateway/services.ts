import type { IdentityServices } from '../identity/services.js';
import type { AuditBatcher } from '../platform/audit/batcher.js';
import type { OutboundServices } from '../platform/services.js';
import type { GatewayLimits } from './limits.js';
import type { RoutingCache } from './route-cache.js';

export interface GatewayServices extends IdentityServices, OutboundServices {
  routing: RoutingCache;
  /** Usage rows are batched off the request path. */
  usageAudit: AuditBatcher;
  /** Per-key and per-org RPM, TPM and monthly budgets; the usage rows. */
  limits: GatewayLimits;
}
