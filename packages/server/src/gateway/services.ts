import type { Agent } from 'undici';
import type { IdentityServices } from '../identity/services.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';

export interface GatewayServices extends IdentityServices {
  /** Guarded undici agent: every connection's address is vetted (no private/loopback/metadata). */
  outbound: Agent;
  outboundPolicy: OutboundPolicy;
}
