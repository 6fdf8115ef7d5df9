import type { IdentityServices } from '../identity/services.js';
import type { GuardedAgent } from '../platform/outbound/dispatcher.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import type { JobRunner } from './runner.js';

export interface JobsServices extends IdentityServices {
  outbound: GuardedAgent;
  outboundPolicy: OutboundPolicy;
  jobRunner: JobRunner;
}
