/**
 * Mail as the tests read it: the server's MemoryMailer (or anything that keeps what it sent), polled, because
 * mail leaves through the outbox worker after the request that queued it has answered.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What the mail helpers read: a mailer that keeps what it sent (the server's MemoryMailer). */
export interface MailBox<M extends SentMail = SentMail> {
  readonly sent: readonly M[];
}
export interface SentMail {
  to: string;
  text: string;
}

/** The address-confirmation mail every sign-up sends (left out of {@link waitForMail}'s count). */
export const isVerificationMail = (m: { text: string }): boolean => m.text.includes('/verify-email#token=');

/** The mails to `to` other than sign-up's confirmation mail, in order. */
export const mailsTo = <M extends SentMail>(mailer: MailBox<M>, to: string): M[] =>
  mailer.sent.filter((m) => m.to === to && !isVerificationMail(m));

/**
 * Polls until `mailer` holds `count` messages to `to` (mail leaves through the outbox worker, after the request
 * that queued it has answered), not counting the confirmation mail of the address's sign-up.
 */
export async function waitForMail<M extends SentMail>(
  mailer: MailBox<M>,
  to: string,
  count = 1,
  timeoutMs = 5_000,
): Promise<M[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = mailsTo(mailer, to);
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The reset/invite token from a mail body (`.../reset-password#token=<token>`). */
export function tokenFromMail(text: string): string {
  const m = /#token=([A-Za-z0-9_-]+)/.exec(text);
  if (!m?.[1]) throw new Error('no #token= link in the mail');
  return m[1];
}

const seenTokens = new WeakMap<MailBox, Set<string>>();

/**
 * The token of the newest mail to `email` whose link is `<publicUrl>/<page>#token=` (default: a reset or an
 * invitation link; the sign-up's verification mail is left out) that no earlier call returned. Mail leaves through
 * the outbox worker, after the request that queued it has answered, so this polls.
 */
export async function lastResetToken(
  mailer: MailBox | MailBox[],
  email: string,
  timeoutMs = 5_000,
  pages: readonly string[] = ['reset-password', 'accept-invite'],
): Promise<string> {
  // Several nodes: any of them may deliver a queued mail.
  const mailers = Array.isArray(mailer) ? mailer : [mailer];
  const key = mailers[0] as MailBox;
  const seen = seenTokens.get(key) ?? new Set<string>();
  seenTokens.set(key, seen);
  const link = new RegExp(`/(?:${pages.join('|')})#token=([A-Za-z0-9_-]+)`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = mailers.flatMap((m) => m.sent.filter((x) => x.to === email && link.test(x.text))).at(-1);
    const token = mail && link.exec(mail.text)?.[1];
    if (token && !seen.has(token)) {
      seen.add(token);
      return token;
    }
    if (Date.now() > deadline)
      throw new Error(`no new ${pages.join('/')} mail for ${email} within ${timeoutMs} ms`);
    await sleep(10);
  }
}
