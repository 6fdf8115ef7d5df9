import type { SessionKeyRing } from '@rampart/core/tokens';
import type { Mailer } from '../platform/mailer.js';
import type { PlatformServices } from '../platform/services.js';
import type { LoginThrottle } from './accounts/throttle.js';
import type { Authenticator } from './authenticate.js';

/**
 * What identity and tenancy handlers need, and what every authenticated route builds on: the platform base plus
 * authentication. A subset of the server's Services.
 */
export interface IdentityServices extends PlatformServices {
  /** Session (JWT) keys: the first signs, every key verifies. */
  jwtKeys: SessionKeyRing;
  auth: Authenticator;
  mailer: Mailer;
  throttle: LoginThrottle;
  bcryptCost: number;
}
