/**
 * What a job run stores of a response: its first 2 KB with every secret the run sent scrubbed, in every spelling an
 * echo endpoint may send it back in, and PII redacted. Kept apart from the runner: it is pure, and its own tests
 * (jobs-units, the property test in jobs-abuse) run it without a server.
 */
import { redact } from '@rampart/core/redact';

/** The stored snippet is the first 2 KB of a response; the rest is discarded unread. */
export const SNIPPET_BYTES = 2048;

/**
 * The parts of a `<scheme> <credential>` header value an echo may send back alone: the credential and, for
 * Basic, its decoded `user:password` and the password.
 */
export function credentialParts(v: string): string[] {
  const m = /^([A-Za-z][A-Za-z0-9_-]*)[ \t]+(\S.*)$/s.exec(v);
  if (!m) return [];
  const cred = (m[2] ?? '').trim();
  const out = [cred];
  if ((m[1] ?? '').toLowerCase() === 'basic') {
    const decoded = Buffer.from(cred, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) out.push(decoded, decoded.slice(colon + 1));
  }
  return out;
}

/** Read past the snippet so a secret (header values are at most 8 KiB; URL-encoded, 24 KiB) straddling the 2 KB cut is seen whole. */
export const SCRUB_MARGIN_BYTES = 32 * 1024;
const MIN_SCRUB = 4;

function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // A cut inside a multi-byte character decodes to U+FFFD at the end: drop it.
  return new TextDecoder('utf-8').decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, '');
}

/**
 * The spellings under which an echo endpoint may send a value back: as it is, JSON-escaped (including the
 * `\/` and `\uXXXX` styles of PHP and ASCII-only encoders), URL-encoded (`%20`, and form encoding), and base64
 * (standard, unpadded, url-safe).
 */
export function secretForms(v: string): string[] {
  const json = JSON.stringify(v).slice(1, -1);
  const asciiJson = json.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const uri = encodeURIComponent(v);
  const b64 = Buffer.from(v, 'utf8').toString('base64');
  return [
    v,
    json,
    json.replaceAll('/', '\\/'),
    asciiJson,
    asciiJson.replaceAll('/', '\\/'),
    uri,
    uri.replaceAll('%20', '+'),
    uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    new URLSearchParams({ v }).toString().slice(2),
    b64,
    b64.replace(/=+$/, ''),
    Buffer.from(v, 'utf8').toString('base64url'),
  ];
}

/**
 * The stored form of a response: every secret value this job sent, in each of its {@link secretForms},
 * replaced by `[SECRET]` (an echo endpoint would otherwise write it to the database in the clear), PII
 * redacted, then cut to its first 2 KB. Scrubbing and redaction run on a window 32 KiB longer than the cut,
 * so a value straddling the cut is replaced whole; a tail that is the beginning of a secret (a body that
 * itself ends mid-secret) is replaced too.
 */
export function snippetOf(body: Buffer, secretValues: readonly string[]): string {
  const secrets = [...new Set(secretValues.flatMap(secretForms))]
    .filter((v) => v.length >= MIN_SCRUB)
    .sort((a, b) => b.length - a.length);
  let text = new TextDecoder('utf-8').decode(body.subarray(0, SNIPPET_BYTES + SCRUB_MARGIN_BYTES));
  for (const v of secrets) text = text.split(v).join('[SECRET]');
  text = cutUtf8(redact(text), SNIPPET_BYTES);
  for (const v of secrets) {
    for (let k = Math.min(v.length - 1, text.length); k >= MIN_SCRUB; k--) {
      if (text.endsWith(v.slice(0, k))) {
        text = `${text.slice(0, -k)}[SECRET]`;
        break;
      }
    }
  }
  return text;
}
