import type { IdentityServices } from '../identity/services.js';
import type { OutboundServices } from '../platform/services.js';
import type { JobRunner } from './runner.js';

export interface JobsServices extends IdentityServices, OutboundServices {
  jobRunner: JobRunner;
}
