import type { Agent } from 'undici';
import type { IdentityServices } from '../services.js';

/** What OpenID Connect sign-in needs: identity's services and the outbound (SSRF-guarded) agent. */
export interface OidcServices extends IdentityServices {
  outbound: Agent;
}
