/** The password policy and e-mail normalisation every way into an account shares. */
import { checkPasswordPolicy } from '@rampart/core/passwords';
import { AppError } from '../../platform/errors.js';

export const invalidCredentials = () => new AppError('invalid_credentials', 'Invalid email or password');

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const POLICY_MESSAGES = {
  too_short: 'Password must be at least 10 characters',
  too_long: 'Password must be at most 72 bytes (it would otherwise be truncated)',
  common: 'Password is too common; choose another',
  contains_email: 'Password must not contain your email address',
} as const;

/** @throws AppError validation_failed naming the rule (never echoing the password) */
export function enforcePasswordPolicy(password: string, email: string): void {
  const r = checkPasswordPolicy(password, { email });
  if (!r.ok) {
    throw new AppError('validation_failed', POLICY_MESSAGES[r.reason], {
      details: { issues: [{ in: 'body', path: '/password', message: POLICY_MESSAGES[r.reason] }] },
    });
  }
}
