import { AppError } from '../platform/errors.js';

export interface BotCheckConfig {
  secret: string | undefined;
  verifyUrl: string;
  timeoutMs?: number;
}

/**
 * Cloudflare Turnstile server-side verification (siteverify: form-encoded secret, response, remoteip; JSON
 * `{ success }`). Fails closed: a missing token, a network error, a timeout, a non-200 or a malformed answer all
 * refuse with 403 bot_check_failed. When no secret is configured the check is off.
 * @throws AppError bot_check_failed
 */
export async function requireBotCheck(
  cfg: BotCheckConfig,
  token: string | undefined,
  ip: string | undefined,
): Promise<void> {
  if (!cfg.secret) return;
  const refuse = () => new AppError('bot_check_failed', 'Bot check failed; reload the page and try again');
  if (!token || token.length > 2048) throw refuse();
  const form = new URLSearchParams({ secret: cfg.secret, response: token });
  if (ip) form.set('remoteip', ip);
  let ok = false;
  try {
    const res = await fetch(cfg.verifyUrl, {
      method: 'POST',
      body: form,
      signal: AbortSignal.timeout(cfg.timeoutMs ?? 5_000),
      redirect: 'error',
    });
    if (res.ok) {
      const body = (await res.json()) as { success?: unknown };
      ok = body.success === true;
    }
  } catch {
    ok = false;
  }
  if (!ok) throw refuse();
}
