import type { IdentityServices } from '../identity/services.js';
import type { OutboundServices } from '../platform/services.js';
import type { AgentHub } from './agent-hub.js';

/**
 * Database access needs no model calls and no outbound HTTP: only the outbound policy, which vets a cloud
 * connection's database host, and the hub of connected on-prem agents.
 */
export interface DbAccessServices extends IdentityServices, Pick<OutboundServices, 'outboundPolicy'> {
  /** On-prem agents connected to this node. */
  agentHub: AgentHub;
}
