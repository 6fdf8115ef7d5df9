import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../platform/config.js';
import type { App } from '../platform/http.js';
import type { PlatformSettings } from '../platform/settings.js';

const DAY_MS = 86_400_000;
/** RFC 9116 §2.5.5 recommends an Expires less than a year away; the file is generated per request. */
const EXPIRES_DAYS = 180;

export const SECURITY_TXT_PATH = '/.well-known/security.txt';
export const SECURITY_POLICY_PATH = '/.well-known/security-policy';

/** The configured Contact URIs, or the default `mailto:security@<public host>`. */
export function securityContacts(
  config: Pick<Config, 'RAMPART_SECURITY_CONTACT'>,
  publicUrl: string,
): string[] {
  if (config.RAMPART_SECURITY_CONTACT?.length) return config.RAMPART_SECURITY_CONTACT;
  return [`mailto:security@${new URL(publicUrl).hostname}`];
}

/**
 * The security.txt document (RFC 9116): Contact (one or more), Expires (exactly one, ISO 8601, 180 days ahead,
 * at midnight UTC so the text is stable for a day), Policy, Preferred-Languages and Canonical.
 */
export function securityTxt(
  config: Config,
  publicUrl: string,
  now: Date,
  contacts: Pick<Config, 'RAMPART_SECURITY_CONTACT'> = config,
): string {
  const base = publicUrl.replace(/\/$/, '');
  const expires = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS + EXPIRES_DAYS * DAY_MS);
  const lines = [
    '# Security contact for this Rampart deployment (RFC 9116).',
    ...securityContacts(contacts, publicUrl).map((c) => `Contact: ${c}`),
    `Expires: ${expires.toISOString().replace('.000Z', 'Z')}`,
    `Policy: ${config.RAMPART_SECURITY_POLICY_URL ?? `${base}${SECURITY_POLICY_PATH}`}`,
    `Preferred-Languages: ${config.RAMPART_SECURITY_LANGUAGES.join(', ')}`,
    `Canonical: ${base}${SECURITY_TXT_PATH}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Where the repository's SECURITY.md is (served as the default policy). */
const SECURITY_MD = fileURLToPath(new URL('../../../../SECURITY.md', import.meta.url));

/** `/.well-known/security.txt`, the legacy `/security.txt` redirect, and the default policy document. */
export function registerSecurityTxt(
  app: App,
  config: Config,
  publicUrl: string,
  settings: PlatformSettings,
): void {
  app.get(SECURITY_TXT_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(securityTxt(config, publicUrl, new Date(), settings.current())),
  );
  // RFC 9116 §3: the top-level path may redirect to the well-known one.
  app.get('/security.txt', { schema: { hide: true } }, async (_request, reply) =>
    reply.code(301).header('location', SECURITY_TXT_PATH).send(),
  );
  app.get(SECURITY_POLICY_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const text = await readFile(SECURITY_MD, 'utf8').catch(() => null);
    if (text === null)
      return reply.code(404).send({ error: 'not_found', message: 'No security policy is installed' });
    return reply.header('content-type', 'text/markdown; charset=utf-8').send(text);
  });
}
