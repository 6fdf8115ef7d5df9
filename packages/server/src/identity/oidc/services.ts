import type { OutboundServices } from '../../platform/services.js';
import type { IdentityServices } from '../services.js';

/** What OpenID Connect sign-in needs: identity's services and the outbound (SSRF-guarded) agent. */
export interface OidcServices extends IdentityServices, Pick<OutboundServices, 'outbound'> {}
