/**
 * The auth-material scanner: decides from a file's path and bytes whether it carries credentials that must never
 * travel inside a skill package. A builder's logged-in browser state is the classic leak: a Playwright
 * `storageState` file, a Chrome profile's `Cookies` database or a HAR recorded while signed in hands every
 * runtime (and everyone who can download the package) the builder's sessions.
 *
 * Pure (no I/O): `rampart pack`, the server's upload check and `rampart runtime sync` run the same rules.
 */

/** What kind of auth material a finding is; stable codes for scripts and tests. */
export type FindingKind =
  | 'storage_state'
  | 'browser_profile'
  | 'cookie_export'
  | 'env_file'
  | 'har_with_auth'
  | 'private_key'
  | 'credential_file'
  | 'jwt'
  | 'token'
  | 'url_credentials';

export interface Finding {
  path: string;
  kind: FindingKind;
  /** Why, for a person: names the format or token type, never the secret itself. */
  reason: string;
}

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);

// Chrome/Chromium/Edge/Brave profile files and Firefox's equivalents, matched on the exact name.
const PROFILE_FILES = new Map<string, string>([
  ['cookies', 'Chromium cookie store'],
  ['cookies-journal', 'Chromium cookie store journal'],
  ['safe browsing cookies', 'Chromium cookie store'],
  ['login data', 'Chromium saved passwords'],
  ['login data-journal', 'Chromium saved passwords journal'],
  ['login data for account', 'Chromium saved passwords'],
  ['local state', 'Chromium Local State (holds the key that decrypts cookies and passwords)'],
  ['web data', 'Chromium autofill and token store'],
  ['cookies.sqlite', 'Firefox cookie store'],
  ['cookies.sqlite-wal', 'Firefox cookie store journal'],
  ['logins.json', 'Firefox saved passwords'],
  ['key3.db', 'Firefox key database'],
  ['key4.db', 'Firefox key database'],
  ['signons.sqlite', 'Firefox saved passwords'],
  ['cookies.binarycookies', 'Safari cookie store'],
]);

// Files whose whole purpose is to hold a credential.
const CREDENTIAL_FILES = new Map<string, string>([
  ['.netrc', 'netrc credentials file'],
  ['_netrc', 'netrc credentials file'],
  ['.git-credentials', 'git credential store'],
  ['.pgpass', 'PostgreSQL password file'],
  ['.my.cnf', 'MySQL client credentials'],
  ['.htpasswd', 'HTTP password file'],
  ['.npmrc', 'npm configuration (holds registry tokens)'],
  ['.pypirc', 'PyPI configuration (holds upload tokens)'],
  ['id_rsa', 'SSH private key'],
  ['id_dsa', 'SSH private key'],
  ['id_ecdsa', 'SSH private key'],
  ['id_ed25519', 'SSH private key'],
  ['credentials.json', 'service credentials file'],
  ['service-account.json', 'cloud service account key'],
]);

const KEY_EXTENSIONS = new Map<string, string>([
  ['.key', 'private key file'],
  ['.p12', 'PKCS#12 key store'],
  ['.pfx', 'PKCS#12 key store'],
  ['.jks', 'Java key store'],
  ['.keystore', 'key store'],
  ['.ppk', 'PuTTY private key'],
  ['.kdbx', 'KeePass database'],
]);

// `.env.example` and friends document variables; they are still scanned for tokens like every other file.
const ENV_TEMPLATE = /\.(example|sample|template|dist)$/i;

// Known credential formats. Each pattern is anchored on a distinctive prefix so ordinary text does not match.
const TOKEN_PATTERNS: Array<[RegExp, string]> = [
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, 'GitHub token'],
  [/\bgithub_pat_[A-Za-z0-9_]{60,}\b/, 'GitHub fine-grained token'],
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/, 'GitLab token'],
  [/\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/, 'AWS access key id'],
  // Slack tokens: xoxb-<team digits>-<digits>-<secret>; the digits keep words like "xoxo-heart" out.
  [/\bxox[abposr]-\d+-[A-Za-z0-9-]{10,}/, 'Slack token'],
  [/https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,}/, 'Slack webhook URL'],
  [/\b[sr]k_live_[A-Za-z0-9]{20,}\b/, 'Stripe live key'],
  [/\bsk-ant-[A-Za-z0-9_-]{20,}/, 'Anthropic API key'],
  // Legacy keys have no dash after sk-; project keys name their kind. Kebab-case identifiers match neither.
  [/\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{32,}|[A-Za-z0-9]{32,}\b)/, 'OpenAI API key'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, 'Google API key'],
  [/\bya29\.[0-9A-Za-z_-]{20,}/, 'Google OAuth access token'],
  [/\bnpm_[A-Za-z0-9]{36}\b/, 'npm token'],
  [/\bpypi-[A-Za-z0-9_-]{50,}/, 'PyPI token'],
  [/\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/, 'SendGrid API key'],
  [/\bhf_[A-Za-z0-9]{34,}\b/, 'Hugging Face token'],
  [/\b(?:rk|rt|cli)_(?:live|test)_[1-9A-HJ-NP-Za-km-z]{32,44}\b/, 'Rampart credential'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/, 'PEM private key'],
  [/PuTTY-User-Key-File-\d+:/, 'PuTTY private key'],
];

const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g;
// scheme://user:password@host — the password part must be non-empty and not a template placeholder.
// The user part may be empty (redis://:password@host).
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s/:@'"`]*:([^\s/@'"`]+)@[^\s/'"`]+/gi;
// Template expressions and placeholders: ${...} (JS, shell), $VAR, {name} and {{name}}, %s, %(name)s, <password>.
const PLACEHOLDER =
  /^(\$\{[^}]*\}|\$[A-Za-z_]\w*|<[^>]*>|\{\{?[^}]*\}\}?|%s|%\([^)]*\)s|\*+|x+|password|pass|secret|changeme)$/i;
const AUTH_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

// A JSON object or array, after an optional UTF-8 byte order mark (ï»¿ in latin1) and whitespace.
const JSON_START = /^(?:\u00ef\u00bb\u00bf)?\s*[{[]/;
// Keys the JSON rules look at; a document with none of them cannot match, so it is not parsed.
// A \u escape could spell a key any other way, so a document holding one is always parsed.
const JSON_KEYS = ['"cookies"', '"entries"', '"domain"', '"service_account"', '\\u'];
/** JSON documents larger than this are scanned as text only (parsing huge JSON costs more than it finds). */
const MAX_JSON_PARSE_BYTES = 32 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function nameFindings(path: string): Finding[] {
  const name = basename(path);
  const lower = name.toLowerCase();
  const out: Finding[] = [];
  const profile = PROFILE_FILES.get(lower);
  if (profile) out.push({ path, kind: 'browser_profile', reason: `browser profile file: ${profile}` });
  const cred = CREDENTIAL_FILES.get(lower);
  if (cred) out.push({ path, kind: 'credential_file', reason: cred });
  if (/(^|\/)\.aws\/credentials$/i.test(path))
    out.push({ path, kind: 'credential_file', reason: 'AWS credentials file' });
  if (/(^|\/)\.docker\/config\.json$/i.test(path))
    out.push({ path, kind: 'credential_file', reason: 'Docker registry credentials' });
  if ((lower === '.env' || lower.startsWith('.env.') || lower.endsWith('.env')) && !ENV_TEMPLATE.test(lower))
    out.push({ path, kind: 'env_file', reason: 'environment file (.env): holds secrets by convention' });
  const dot = lower.lastIndexOf('.');
  const ext = dot > 0 ? lower.slice(dot) : '';
  const keyFile = KEY_EXTENSIONS.get(ext);
  if (keyFile) out.push({ path, kind: 'private_key', reason: keyFile });
  return out;
}

function jsonFindings(path: string, doc: unknown): Finding[] {
  // Playwright / Puppeteer storage state: { cookies: [...], origins: [...] }.
  if (isObject(doc) && Array.isArray(doc.cookies) && Array.isArray(doc.origins))
    return [
      {
        path,
        kind: 'storage_state',
        reason: 'browser storage state (cookies and origins): a signed-in session',
      },
    ];
  // HAR: { log: { entries: [{ request: { headers, cookies }, response: {...} }] } }.
  if (isObject(doc) && isObject(doc.log) && Array.isArray(doc.log.entries)) {
    const found = new Set<string>();
    for (const entry of doc.log.entries) {
      if (!isObject(entry)) continue;
      for (const side of [entry.request, entry.response]) {
        if (!isObject(side)) continue;
        if (Array.isArray(side.headers))
          for (const h of side.headers)
            if (isObject(h) && typeof h.name === 'string' && AUTH_HEADERS.has(h.name.toLowerCase()))
              found.add(h.name.toLowerCase());
        if (Array.isArray(side.cookies) && side.cookies.length > 0) found.add('cookies');
      }
    }
    if (found.size > 0)
      return [
        {
          path,
          kind: 'har_with_auth',
          reason: `HAR recording with credentials (${[...found].sort().join(', ')})`,
        },
      ];
    return [];
  }
  // Cookie exports from browser extensions: [{ domain, name, value, ... }, ...].
  if (
    Array.isArray(doc) &&
    doc.length > 0 &&
    doc.every((c) => isObject(c) && 'domain' in c && 'name' in c && 'value' in c)
  )
    return [{ path, kind: 'cookie_export', reason: 'exported browser cookies' }];
  // Google service account keys and OAuth client secrets.
  if (isObject(doc) && doc.type === 'service_account' && typeof doc.private_key === 'string')
    return [{ path, kind: 'private_key', reason: 'cloud service account key' }];
  return [];
}

function isJwt(candidate: string): boolean {
  const [head] = candidate.split('.');
  try {
    const header = JSON.parse(Buffer.from(head ?? '', 'base64url').toString('utf8')) as unknown;
    return isObject(header) && typeof header.alg === 'string';
  } catch {
    return false;
  }
}

function textFindings(path: string, text: string): Finding[] {
  const out: Finding[] = [];
  if (/^# (Netscape )?HTTP Cookie File/m.test(text.slice(0, 4096)))
    out.push({ path, kind: 'cookie_export', reason: 'Netscape cookies.txt export' });
  for (const [pattern, label] of TOKEN_PATTERNS) {
    if (pattern.test(text)) {
      const kind: FindingKind = label.includes('private key') ? 'private_key' : 'token';
      out.push({ path, kind, reason: `contains a ${label}` });
    }
  }
  for (const m of text.matchAll(JWT)) {
    if (isJwt(m[0])) {
      out.push({ path, kind: 'jwt', reason: 'contains a JSON Web Token' });
      break;
    }
  }
  // Cheap literal checks first: the URL pattern is the slowest rule, and most files have no `user@` in a URL.
  for (const m of text.includes('://') && text.includes('@') ? text.matchAll(URL_CREDENTIALS) : []) {
    if (!PLACEHOLDER.test(m[1] ?? '')) {
      out.push({
        path,
        kind: 'url_credentials',
        reason: 'contains a URL with a password (scheme://user:password@host)',
      });
      break;
    }
  }
  return out;
}

/**
 * Every reason `bytes` (stored at package path `path`) must not be packaged; empty when the file is clean.
 * @example scanFile('auth/state.json', readFileSync(p)) // [{ kind: 'storage_state', ... }]
 */
export function scanFile(path: string, bytes: Uint8Array): Finding[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = nameFindings(path);
  if (buf.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC))
    out.push({
      path,
      kind: 'browser_profile',
      reason: 'SQLite database (browser cookie and password stores are SQLite files)',
    });
  // latin1 maps every byte to one code unit, so patterns also match inside binary files (and it never throws).
  const text = buf.toString('latin1');
  // A UTF-8 byte order mark (Windows editors add one) must not hide a JSON document from the JSON rules.
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  // Parse only what could match a JSON rule: a document whose text holds one of the keys those rules read.
  if (
    JSON_START.test(text) &&
    buf.byteLength <= MAX_JSON_PARSE_BYTES &&
    JSON_KEYS.some((k) => text.includes(k))
  ) {
    try {
      out.push(...jsonFindings(path, JSON.parse(buf.subarray(bom).toString('utf8'))));
    } catch {
      // Not JSON after all: the text rules below still apply.
    }
  }
  out.push(...textFindings(path, text));
  // The same reason twice (a name rule and a content rule agreeing) is reported once.
  const seen = new Set<string>();
  return out.filter((f) => {
    const key = `${f.kind}\n${f.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
