/**
 * The auth-material scanner, rule by rule. Secrets are assembled at run time (`'gh' + 'p_' + …`) so this file holds
 * no literal credential for a real secret scanner to flag.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken } from '../apikeys/generate.js';
import { type FindingKind, scanFile } from './scan.js';

/** Deterministic pseudo-random bytes (SHA-256 in counter mode): no flaky fixtures. */
function noise(n: number, seed = 'noise'): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < n; i++) out.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(out).subarray(0, n);
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const pick = (alphabet: string, n: number, seed: string) =>
  [...noise(n, seed)].map((b) => alphabet[b % alphabet.length]).join('');
const alnum = (n: number, seed = 'alnum') => pick(ALNUM, n, seed);
const upper = (n: number, seed = 'upper') => pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', n, seed);
const digits = (n: number, seed = 'digits') => pick('0123456789', n, seed);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
type Content = string | Uint8Array;
const scan = (path: string, content: Content) =>
  scanFile(path, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
const expectClean = (path: string, content: Content) => expect(scan(path, content)).toEqual([]);

/**
 * Scans and expects exactly the kinds in `kinds` (as a set), every finding naming `path`, one reason matching
 * `reason` when given, and no reason repeating `secret`.
 */
function expectFindings(
  path: string,
  content: Content,
  kinds: FindingKind[],
  reason?: RegExp,
  secret?: string,
) {
  const findings = scan(path, content);
  expect(findings.length).toBeGreaterThan(0);
  expect([...new Set(findings.map((f) => f.kind))].sort()).toEqual([...kinds].sort());
  for (const f of findings) {
    expect(f.path).toBe(path);
    if (secret) {
      expect(f.reason).not.toContain(secret);
      expect(f.reason).not.toContain(secret.slice(-10));
    }
  }
  if (reason) expect(findings.map((f) => f.reason)).toContainEqual(expect.stringMatching(reason));
  return findings;
}

/** A real self-signed certificate (public data: no private key). */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUPDbMHaYjKxVM/wEI82L10jOc7l0wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNc2tpbGwuZXhhbXBsZTAeFw0yNjExMjMyMzUzMTJaFw0zNjEx
MjAyMzUzMTJaMBgxFjAUBgNVBAMMDXNraWxsLmV4YW1wbGUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQ8duXynKAV0Jo7OB+YCf/0YrjfUn/s1v1x7dpatbYDp34h
/j48C0mhoFA4ariJyq/HxTqyYrCc4QjhzeE45781o1MwUTAdBgNVHQ4EFgQU2eiV
OoHuoo+jUgBp0aze/ADKghswHwYDVR0jBBgwFoAU2eiVOoHuoo+jUgBp0aze/ADK
ghswDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA3zDQUVedGazp
ujdq3ZdDIddm5h08JGUxdH2v/eOGSg8CIAtcazoAghhG+T0YxbaoqolUyZRFihRy
s6MQ3T/2OApI
-----END CERTIFICATE-----
`;

describe('storage state (Playwright / Puppeteer)', () => {
  const cookie = { name: 'sid', value: alnum(32, 'sid'), domain: '.example.com', path: '/', httpOnly: true };
  it.each<[string, unknown]>([
    ['Playwright', { cookies: [cookie], origins: [{ origin: 'https://app.example.com', localStorage: [] }] }],
    ['empty arrays', { cookies: [], origins: [] }],
  ])('%s', (_label, doc) => {
    expectFindings('auth/state.json', JSON.stringify(doc), ['storage_state'], /storage state/, cookie.value);
    expectFindings('x.txt', `\n  ${JSON.stringify(doc, null, 2)}\n`, ['storage_state']);
  });

  // Regression (found in review, fixed): a UTF-8 byte-order mark in front of the JSON hides the file from every JSON rule (the latin1 text
  // does not start with "{" after trimStart, and JSON.parse refuses the BOM). Windows editors write BOMs.
  it('a storage state saved with a UTF-8 BOM', () => {
    const state = JSON.stringify({ cookies: [cookie], origins: [] });
    expectFindings('state.json', `\uFEFF${state}`, ['storage_state']);
  });
});

describe('browser profile files', () => {
  const chromium = 'Default/Cookies|Default/Login Data|Local State|chrome/Local State|Default/Web Data';
  const more = 'Default/Cookies-journal|Profile 1/Login Data For Account|COOKIES|Cookies.binarycookies';
  const firefox = 'ff/abcd.default-release/cookies.sqlite|logins.json|key4.db|key3.db|signons.sqlite';
  it.each(`${chromium}|${more}|${firefox}`.split('|'))('%s (by name, whatever the content)', (path) => {
    expectFindings(path, '', ['browser_profile'], /browser profile file/);
  });

  it.each(['data.bin', 'steps/cache.json', 'README.md'])('SQLite header, any name: %s', (path) => {
    const db = Buffer.concat([Buffer.from('SQLite format 3\u0000', 'latin1'), noise(4080, path)]);
    expectFindings(path, db, ['browser_profile'], /SQLite database/);
  });

  it('mentioning SQLite in text is not a database', () => {
    expectClean('README.md', 'We store results in a file (SQLite format 3).');
  });
});

describe('.env files', () => {
  const envs = ['.env', '.env.production', '.env.local', 'prod.env', 'config/.env', 'deploy/staging.env'];
  it.each(envs)('%s is refused by name', (path) => {
    expectFindings(path, 'DEBUG=1\n', ['env_file'], /environment file/);
  });

  const templates = ['.env.example', '.env.sample', '.env.template', 'config/.env.dist'];
  it.each(templates)('%s is a template: not refused by name', (path) => {
    expectClean(path, `API_TOKEN=\nDATABASE_URL=postgres://user:\${PASSWORD}@db/app\n`);
  });

  it('.env.example is still refused when it holds a real token', () => {
    const token = `gh${'p_'}${alnum(36, 'envex')}`;
    expectFindings('.env.example', `GITHUB_TOKEN=${token}\n`, ['token'], /GitHub token/, token);
  });
});

describe('HAR recordings', () => {
  const har = (request: object, response: object = { status: 200, headers: [], cookies: [] }) =>
    JSON.stringify({
      log: {
        version: '1.2',
        entries: [{ request: { method: 'GET', url: 'https://app.example.com/api', ...request }, response }],
      },
    });
  const secret = alnum(40, 'har');

  const header = (name: string, value: string) => har({ headers: [{ name, value }] });

  it.each<[string, string, RegExp]>([
    ['Authorization', header('Authorization', `Bearer ${secret}`), /authorization/],
    ['authorization (lower case)', header('authorization', secret), /authorization/],
    ['Cookie', header('Cookie', `sid=${secret}`), /cookie/],
    ['X-Api-Key', header('X-Api-Key', secret), /x-api-key/],
    ['Proxy-Authorization', header('Proxy-Authorization', secret), /proxy/],
    [
      'Set-Cookie',
      har({}, { headers: [{ name: 'Set-Cookie', value: `sid=${secret}; HttpOnly` }] }),
      /set-cookie/,
    ],
    ['request cookies', har({ headers: [], cookies: [{ name: 'sid', value: secret }] }), /cookies/],
    ['response cookies', har({}, { headers: [], cookies: [{ name: 'sid', value: secret }] }), /cookies/],
  ])('with %s', (_label, text, reason) => {
    expectFindings('recording.har', text, ['har_with_auth'], reason, secret);
  });

  it('a HAR without credentials is clean', () => {
    const text = har(
      { headers: [{ name: 'Accept', value: 'text/html' }], cookies: [], queryString: [] },
      { status: 200, headers: [{ name: 'Content-Type', value: 'text/html' }], cookies: [] },
    );
    expectClean('recording.har', text);
  });
});

describe('private keys and key stores', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const begin = (label: string) => `-----BEGIN ${label} KEY-----`;
  const end = (label: string) => `-----END ${label} KEY-----`;
  const openssh = `${begin('OPENSSH PRIVATE')}\n${noise(300, 'ssh').toString('base64')}\n${end('OPENSSH PRIVATE')}\n`;

  const encrypted = { cipher: 'aes-256-cbc', passphrase: `pass${'phrase'}` };

  it.each<[string, string]>([
    ['RSA (PKCS#1)', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['EC (SEC1)', ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['PKCS#8', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['ENCRYPTED PKCS#8', rsa.privateKey.export({ type: 'pkcs8', format: 'pem', ...encrypted }).toString()],
    ['OPENSSH', openssh],
  ])('PEM %s', (_label, pem) => {
    expect(pem).toMatch(/PRIVATE KEY-----/);
    expectFindings('keys/signing.txt', pem, ['private_key'], /PEM private key/, pem.split('\n')[1]);
    expectFindings('steps/inline.js', `const k = ${JSON.stringify(pem)};`, ['private_key']);
  });

  it('a PEM certificate or public key is clean', () => {
    for (const key of [rsa.publicKey, ec.publicKey, ed.publicKey])
      expectClean('keys/trusted.pem', key.export({ type: 'spki', format: 'pem' }).toString());
    expectClean('certs/ca.pem', CERTIFICATE);
  });

  it('PuTTY keys by content and by extension', () => {
    const ppk = `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n${alnum(44, 'ppk')}\n`;
    expectFindings('keys/deploy.txt', ppk, ['private_key'], /PuTTY private key/);
    expectFindings('deploy.ppk', 'anything', ['private_key'], /PuTTY private key/);
  });

  const stores = 'certs/client.p12|client.PFX|tls/server.key|store.jks|release.keystore|vault.kdbx'.split(
    '|',
  );
  it.each(stores)('%s by extension', (path) => {
    expectFindings(path, noise(256, path), ['private_key']);
  });

  it.each(['.ssh/id_rsa', 'id_ed25519', 'id_ecdsa', 'id_dsa'])('%s by name', (path) => {
    expectFindings(path, 'placeholder', ['credential_file'], /SSH private key/);
  });

  it('a public SSH key is clean', () => {
    const pub = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${alnum(43, 'pub')} builder@laptop\n`;
    expectClean('.ssh/id_ed25519.pub', pub);
  });
});

describe('credential files by name', () => {
  it.each<[string, RegExp]>([
    ['.netrc', /netrc/],
    ['_netrc', /netrc/],
    ['home/.git-credentials', /git credential/],
    ['.npmrc', /npm/],
    ['.pypirc', /PyPI/],
    ['.pgpass', /PostgreSQL/],
    ['.aws/credentials', /AWS credentials/],
    ['home/.aws/credentials', /AWS credentials/],
    ['.docker/config.json', /Docker/],
    ['gcp/service-account.json', /service account/],
  ])('%s', (path, reason) => {
    expectFindings(path, '# nothing secret in here\n', ['credential_file'], reason);
  });

  it('a file called credentials outside .aws, or config.json outside .docker, is clean', () => {
    expectClean('docs/credentials', 'How credentials work.');
    expectClean('steps/config.json', '{"retries":3}');
  });
});

describe('tokens (every TOKEN_PATTERNS entry)', () => {
  const tokens: Array<[string, string]> = [
    ['GitHub token', `gh${'p_'}${alnum(36, 'ghp')}`],
    ['GitHub token', `gh${'s_'}${alnum(36, 'ghs')}`],
    ['GitHub fine-grained token', `github${'_pat_'}${alnum(22, 'pat1')}_${alnum(59, 'pat2')}`],
    ['GitLab token', `gl${'pat-'}${alnum(20, 'glpat')}`],
    ['AWS access key id', `AK${'IA'}${upper(16, 'aws')}`],
    ['Slack token', `xo${'xb-'}${digits(12)}-${digits(13, 'd2')}-${alnum(24, 'slack')}`],
    [
      'Slack webhook URL',
      `https://hooks.${'slack.com'}/services/T${upper(8)}/B${upper(10, 'b')}/${alnum(24)}`,
    ],
    ['Stripe live key', `sk${'_live_'}${alnum(24, 'stripe')}`],
    ['Anthropic API key', `sk-${'ant-'}api03-${alnum(80, 'ant')}AA`],
    ['OpenAI API key', `sk-${'proj-'}${alnum(48, 'oai')}`],
    ['Google API key', `AI${'za'}${alnum(35, 'goog')}`],
    ['Google OAuth access token', `ya${'29.'}${alnum(60, 'ya29')}`],
    ['npm token', `npm${'_'}${alnum(36, 'npm')}`],
    ['PyPI token', `py${'pi-'}AgEIcHlwaS5vcmc${alnum(60, 'pypi')}`],
    ['SendGrid API key', `SG${'.'}${alnum(22, 'sg1')}.${alnum(43, 'sg2')}`],
    ['Hugging Face token', `hf${'_'}${alnum(34, 'hf')}`],
    ['Rampart credential', generateToken('rk', 'live').key],
    ['Rampart credential', generateToken('rt', 'live').key],
    ['Rampart credential', generateToken('cli', 'test').key],
  ];
  const contexts: Array<[string, (t: string) => string]> = [
    ['steps/call.js', (t) => `const client = new Client({ apiKey: '${t}' });\n`],
    ['steps/call.json', (t) => JSON.stringify({ headers: { authorization: `Bearer ${t}` } })],
    ['workflow.yaml', (t) => `env:\n  KEY: ${t}\n`],
  ];

  it.each(tokens)('%s', (label, token) => {
    for (const [path, wrap] of contexts) {
      const findings = expectFindings(path, wrap(token), ['token'], undefined, token);
      // Some formats share a prefix (sk-ant- is also an OpenAI sk- shape; rk_live_ is also a Stripe restricted
      // key): the intended label must be among the reasons.
      expect(findings.map((f) => f.reason)).toContain(`contains a ${label}`);
    }
  });

  it('a token inside a binary file (random bytes around it) is still found', () => {
    for (const [label, token] of [tokens[0], tokens[4], tokens[16]] as Array<[string, string]>) {
      const blob = Buffer.concat([noise(700, label), Buffer.from(`\0${token}\0`, 'latin1'), noise(900)]);
      const findings = expectFindings('assets/blob.bin', blob, ['token'], undefined, token);
      expect(findings.map((f) => f.reason)).toContain(`contains a ${label}`);
    }
  });

  it('shapes that are too short or lack the prefix are clean', () => {
    const near = [
      `gh${'p_'}${alnum(10)}`,
      `AK${'IA'}abc`,
      `sk${'_test_'}${alnum(24)}`,
      `npm${'_'}${alnum(8)}`,
    ];
    expectClean('steps/near.js', near.map((t) => `'${t}'`).join('\n'));
  });
});

describe('JSON Web Tokens', () => {
  const payload = b64url({ sub: '1234567890', name: 'Jane', iat: 1516239022 });
  const sig = noise(32, 'jwt').toString('base64url');
  const jwt = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${payload}.${sig}`;

  it('a real JWT is found in JS and in JSON', () => {
    expect(jwt.startsWith('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.')).toBe(true);
    expectFindings(
      'steps/api.js',
      `fetch(u, { headers: { auth: 'Bearer ${jwt}' } });`,
      ['jwt'],
      /JSON Web/,
      jwt,
    );
    expectFindings('session.json', JSON.stringify({ accessToken: jwt }), ['jwt'], /JSON Web/, jwt);
  });

  it.each([
    ['a header without alg', `${b64url({ typ: 'JWT' })}.${payload}.${sig}`],
    ['an alg that is not a string', `${b64url({ alg: 1 })}.${payload}.${sig}`],
    ['a header that is not JSON', `eyJ${'notjsonatall'}.${payload}.${sig}`],
  ])('a JWT look-alike with %s is clean', (_label, text) => {
    expectClean('steps/api.js', `const t = '${text}';`);
  });
});

describe('cookie exports and service accounts', () => {
  it('Netscape cookies.txt (with and without "Netscape")', () => {
    const line = `.example.com\tTRUE\t/\tTRUE\t1999999999\tsid\t${alnum(32, 'nc')}\n`;
    expectFindings('cookies.txt', `# Netscape HTTP Cookie File\n${line}`, ['cookie_export'], /Netscape/);
    expectFindings('export/c.txt', `# HTTP Cookie File\n# generated\n${line}`, ['cookie_export'], /Netscape/);
  });

  it('a JSON array of exported cookies', () => {
    const value = alnum(32, 'ck');
    const doc = [
      { domain: '.example.com', name: 'sid', value, path: '/', secure: true, hostOnly: false },
      { domain: 'app.example.com', name: 'csrf', value: 'x', path: '/' },
    ];
    expectFindings('cookies.json', JSON.stringify(doc), ['cookie_export'], /exported browser cookies/, value);
  });

  it('a Google service account key', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const doc = { type: 'service_account', project_id: 'p', private_key_id: 'abc', private_key: pem };
    expectFindings('gcp.json', JSON.stringify(doc, null, 2), ['private_key'], /service account/);
    const redacted = { ...doc, private_key: 'see vault' };
    expectFindings('gcp.json', JSON.stringify(redacted), ['private_key'], /cloud service account key/);
  });
});

describe('URLs with credentials', () => {
  it.each([
    'postgres://app:s3cret@db/x',
    'mysql://root:hunter2@127.0.0.1:3306/app',
    'https://deploy:Zx9-long_pass@registry.example.com/v2/',
    'AMQP://GUEST:REALPASS@RABBIT/VHOST',
  ])('%s', (url) => {
    const password = url.split('@')[0]?.split(':').at(-1) ?? '';
    expectFindings('steps/db.js', `const url = '${url}';`, ['url_credentials'], /password/, password);
    expectFindings('conf.json', JSON.stringify({ url }), ['url_credentials']);
  });

  const placeholders = `postgres://user:\${PASSWORD}@db postgres://user:$PASSWORD@db/app https://user:<password>@h`;
  const masked =
    'https://user:{{password}}@h https://user:****@h https://user:xxxx@h https://user:changeme@h';
  const noPassword = 'https://user@example.com/path https://example.com:8443/login?next=/a@b';
  it.each(`${placeholders} ${masked} ${noPassword}`.split(' '))('%s is clean', (url) => {
    expectClean('README.md', `Connect with \`${url}\`.`);
  });

  // Regression (found in review, fixed): an empty user name with a password (`redis://:password@host`, the usual Redis form) is missed: the
  // pattern requires at least one character before the colon.
  it('redis://:password@host (empty user name)', () => {
    const url = `redis://:${alnum(16, 'redis')}@cache:6379`;
    expectFindings('steps/cache.js', `const url = '${url}';`, ['url_credentials']);
  });
});

describe('clean workflow files give []', () => {
  const steps = JSON.stringify([
    { action: 'goto', url: 'https://app.example.com/login?next=%2Fdashboard' },
    { action: 'fill', selector: 'input[name="email"]', value: '{{ inputs.email }}' },
    { action: 'fill', selector: 'input[type="password"]', value: '{{ secrets.password }}' },
    { action: 'click', selector: 'button:has-text("Accept cookies")' },
    { action: 'waitFor', selector: 'text=Your API token', timeoutMs: 5000 },
  ]);
  const files: Array<[string, string | Buffer]> = [
    ['steps/login.json', steps],
    ['skill.json', JSON.stringify({ name: 'login-flow', version: 3, cookies: [], origins: 'none' })],
    [
      'workflow.yaml',
      'name: export-invoices\nsteps:\n  - goto: https://billing.example.com:8443/invoices\n' +
        '  - click: "text=Download"\n  # the token is injected by the runtime; never stored here\n',
    ],
    [
      'steps/extract.js',
      "// Dismiss the cookie banner, then read the session token the page shows.\nexport async function run(page, { secrets }) {\n  const password = secrets.get('password');\n  const cookieBanner = page.locator('.cookie-consent');\n  if (await cookieBanner.isVisible()) await cookieBanner.click();\n  await page.fill('#password', password);\n  const tokenText = await page.textContent('[data-test=token-label]');\n  return { tokenText, contact: 'support@example.com', docs: 'https://example.com/help/@team' };\n}\n",
    ],
    [
      'README.md',
      '# Login flow\n\nSigns in with a password and an API token supplied at run time. Never package cookies,\n' +
        '`.env` files, storage state or private keys: `rampart pack` refuses them.\n\n' +
        '```\nDATABASE_URL=postgres://user:$' +
        '{PASSWORD}@db/app\n```\n',
    ],
    ['assets/logo.png', Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), noise(4096, 'png')])],
    ['empty.txt', ''],
    ['.env.example', 'API_TOKEN=\n'],
    ['.ssh/id_ed25519.pub', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeButHarmless builder@laptop\n'],
    ['data/not-json.json', '{ this is not json: [ at all'],
  ];

  it.each(files)('%s', (path, content) => {
    expectClean(path, content);
  });

  it('scans exactly the bytes of a Uint8Array view, not its whole backing buffer', () => {
    const token = `gh${'p_'}${alnum(36, 'view')}`;
    const backing = new TextEncoder().encode(`clean text; ${token}; more clean text`);
    const at = 'clean text; '.length;
    expect(scanFile('a.txt', new Uint8Array(backing.buffer, 0, at - 2))).toEqual([]);
    expect(scanFile('a.txt', new Uint8Array(backing.buffer, at + token.length + 1))).toEqual([]);
    expect(scanFile('a.txt', backing.subarray(at, at + token.length)).map((f) => f.kind)).toEqual(['token']);
  });

  // Regression (found in review, fixed) — was a false positive: a template expression for the password is not a secret, but only `${UPPER_CASE}`
  // counts as a placeholder, so ordinary step code building a connection string is refused.
  it('a URL whose password is a template expression (process.env)', () => {
    expectClean('steps/db.js', `const url = \`postgres://app:\${process.env.DB_PASSWORD}@db/x\`;`);
  });

  // Regression (found in review, fixed) — was a false positive: the Slack pattern accepts "xoxo-" followed by any 10 of [A-Za-z0-9-], so an ordinary
  // product slug in a step URL is refused as a Slack token.
  it('a product URL with an "xoxo-" slug', () => {
    expectClean('steps/shop.json', '{"goto":"https://shop.example.com/p/xoxo-heart-necklace-gold"}');
  });
});

describe('the JSON pre-filter does not hide escaped keys', () => {
  it('a storage state whose keys are spelled with \\u escapes is still found', () => {
    const text = '{"\\u0063ookies":[{"name":"sid","value":"v"}],"\\u006frigins":[]}';
    expect(JSON.parse(text)).toHaveProperty('cookies');
    expect(scanFile('s.json', Buffer.from(text)).map((f) => f.kind)).toEqual(['storage_state']);
  });
});
