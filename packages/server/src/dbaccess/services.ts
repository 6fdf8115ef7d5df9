import type { GatewayServices } from '../gateway/services.js';
import type { AgentHub } from './agent-hub.js';

export interface DbAccessServices extends GatewayServices {
  /** On-prem agents connected to this node. */
  agentHub: AgentHub;
}
