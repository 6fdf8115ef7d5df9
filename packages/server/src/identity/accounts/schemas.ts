import { z } from 'zod';

/** Body fields the sign-in, sign-up and password routes share. */
export const email = z.email().max(254);
// Length limits here are only a DoS guard; the password policy gives the precise message.
export const password = z.string().min(1).max(1024);
export const botToken = z.string().max(2048).optional();
export const tags = ['identity'];
/**
 * Dashboard opt-in: also set the HttpOnly refresh cookie (Path=/api/auth/session), so the sign-in survives a
 * reload; the JSON still carries the 15-minute session JWT. Scripts leave it out and get the JWT only.
 */
export const sessionMode = z.literal('cookie').optional();

/** The Turnstile check of an anonymous form (a no-op when no secret is configured). */
export type BotCheck = (token: string | undefined, ip: string) => Promise<void>;
