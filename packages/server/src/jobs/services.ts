import type { Agent } from 'undici';
import type { IdentityServices } from '../identity/services.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import type { JobRunner } from './runner.js';

export interface JobsServices extends IdentityServices {
  outbound: Agent;
  outboundPolicy: OutboundPolicy;
  jobRunner: JobRunner;
}
