/**
 * The local vault (packages/cli/src/runtime/vault.ts) and `rampart runtime session save|load|list|delete`.
 *
 * Most tests run the CLI in-process through `run(argv)` with stdout/stderr captured; one runs the built binary
 * (packages/cli/dist/bin.js; `npm test` builds it in pretest) as a real process, reading standard input.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BIN, cleanEnv, runCli } from '@rampart/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../src/main.js';
import { defaultConfigDir, openVault, VaultError, writeFileAtomicSync } from '../src/runtime/vault.js';

const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;

// Distinctive values, so finding any of them in a file or an output means plaintext leaked.
const SECRETS = {
  sid: 'sidCOOKIEvalue-7f3a9c1e5b2d4a60',
  csrf: 'csrfTOKENvalue_b81d2e4f6a0c9e37',
  pref: 'prefCookieValue.9a8b7c6d5e4f',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.lsJWTpayload.signatureXYZ123',
  theme: 'localStorageThemeValue-dark-4242',
} as const;

const STATE = {
  cookies: [
    {
      name: 'session_id',
      value: SECRETS.sid,
      domain: '.crm.example.com',
      path: '/',
      expires: 1_900_000_000,
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    },
    {
      name: 'csrf',
      value: SECRETS.csrf,
      domain: 'crm.example.com',
      path: '/',
      expires: -1,
      httpOnly: false,
      secure: true,
      sameSite: 'Strict',
    },
    {
      name: 'pref',
      value: SECRETS.pref,
      domain: 'app.example.org',
      path: '/',
      expires: -1,
      httpOnly: false,
      secure: false,
      sameSite: 'None',
    },
  ],
  origins: [
    {
      origin: 'https://crm.example.com',
      localStorage: [
        { name: 'auth', value: SECRETS.jwt },
        { name: 'theme', value: SECRETS.theme },
      ],
    },
  ],
};
// Pretty-printed with a trailing newline and odd spacing, so "exact round trip" means byte for byte.
const STATE_TEXT = `${JSON.stringify(STATE, null, 2)}\n`;

/** Every form a leaked secret could take in a file: raw, base64, base64url, hex. */
function forbiddenForms(): string[] {
  const values = [...Object.values(SECRETS), STATE_TEXT];
  return values.flatMap((v) => {
    const b = Buffer.from(v, 'utf8');
    return [v, b.toString('base64'), b.toString('base64url'), b.toString('hex')].map((s) =>
      // For the whole document, a long prefix of its encodings is enough to catch it.
      s.length > 64 ? s.slice(0, 64) : s,
    );
  });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

function expectNoPlaintext(dir: string): void {
  const files = filesUnder(dir);
  expect(files.length).toBeGreaterThan(0);
  const forms = forbiddenForms();
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const form of forms) {
      expect(bytes.includes(Buffer.from(form, 'utf8')), `${relative(dir, file)} holds ${form}`).toBe(false);
    }
  }
}

function expectNoSecretsIn(text: string): void {
  for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

let root: string;
let cfg: string;
let stateFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rampart-session-'));
  cfg = join(root, 'cfg');
  stateFile = join(root, 'state.json');
  writeFileSync(stateFile, STATE_TEXT);
  vi.stubEnv('RAMPART_CONFIG_DIR', cfg);
  vi.stubEnv('RAMPART_VAULT_KEY_FILE', undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs `rampart runtime session ...args` in-process, capturing stdout and stderr. */
async function session(...args: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const capture =
    (append: (s: string) => void) =>
    (chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
      // Copy at once: the command wipes its plaintext buffer after the write completes.
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') (done as () => void)();
      return true;
    };
  vi.spyOn(process.stdout, 'write').mockImplementation(
    capture((s) => {
      out += s;
    }) as typeof process.stdout.write,
  );
  vi.spyOn(process.stderr, 'write').mockImplementation(
    capture((s) => {
      err += s;
    }) as typeof process.stderr.write,
  );
  process.exitCode = undefined;
  try {
    const code = await run(['node', 'rampart', 'runtime', 'session', ...args]);
    return { code, out, err };
  } finally {
    process.exitCode = undefined;
    vi.mocked(process.stdout.write).mockRestore();
    vi.mocked(process.stderr.write).mockRestore();
  }
}

const sessionFile = (name: string) => join(cfg, 'sessions', `${name}.vault`);
const keyFile = () => join(cfg, 'vault.key');

async function saved(name = 'work'): Promise<Result> {
  const result = await session('save', '--name', name, '--file', stateFile);
  expect(result.code, result.err).toBe(0);
  return result;
}

describe('save and load', () => {
  it('round-trips the exact JSON, reporting counts and the path on stderr', async () => {
    const save = await saved('work');
    expect(save.out).toBe('');
    expect(save.err).toBe(
      `saved session "work" (3 cookies, 1 origin), encrypted at ${sessionFile('work')}\n`,
    );
    const load = await session('load', '--name', 'work');
    expect(load.code, load.err).toBe(0);
    expect(load.out).toBe(STATE_TEXT);
    expect(load.err).toBe('');
  });

  it('saving again under the same name replaces the session', async () => {
    await saved('work');
    const other = { cookies: [], origins: [] };
    writeFileSync(stateFile, JSON.stringify(other));
    const again = await session('save', '--name', 'work', '--file', stateFile);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/^replaced session "work" \(0 cookies, 0 origins\)/);
    expect((await session('load', '--name', 'work')).out).toBe(JSON.stringify(other));
  });

  it('leaves no plaintext anywhere in the config dir: not the values, not their base64, base64url or hex', async () => {
    await saved('work');
    await saved('second');
    expectNoPlaintext(cfg);
    const doc = JSON.parse(readFileSync(sessionFile('work'), 'utf8'));
    expect(Object.keys(doc).sort()).toEqual(['envelope', 'kind', 'name', 'updatedAt', 'v']);
    expect(doc).toMatchObject({ v: 1, kind: 'browser-session', name: 'work' });
    expect(doc.envelope).toMatch(/^v1\.local\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  });

  it('writes session and key files 0600 and the directories 0700, with no temp files left behind', async () => {
    await saved('work');
    await saved('work'); // overwrite goes through a temp file too
    await saved('other');
    expect(modeOf(cfg)).toBe(0o700);
    expect(modeOf(join(cfg, 'sessions'))).toBe(0o700);
    expect(modeOf(keyFile())).toBe(0o600);
    expect(modeOf(sessionFile('work'))).toBe(0o600);
    expect(modeOf(sessionFile('other'))).toBe(0o600);
    expect(
      filesUnder(cfg)
        .map((f) => relative(cfg, f))
        .sort(),
    ).toEqual([join('sessions', 'other.vault'), join('sessions', 'work.vault'), 'vault.key']);
  });

  it('--dir and --key-file override the environment', async () => {
    const dir = join(root, 'elsewhere');
    const key = join(root, 'keys', 'my.key');
    const save = await session('save', '--name', 'x', '--file', stateFile, '--dir', dir, '--key-file', key);
    expect(save.code, save.err).toBe(0);
    expect(existsSync(join(dir, 'sessions', 'x.vault'))).toBe(true);
    expect(modeOf(key)).toBe(0o600);
    expect(existsSync(cfg)).toBe(false);
    expect((await session('load', '--name', 'x', '--dir', dir, '--key-file', key)).out).toBe(STATE_TEXT);
    // RAMPART_VAULT_KEY_FILE is honoured too.
    vi.stubEnv('RAMPART_VAULT_KEY_FILE', key);
    expect((await session('load', '--name', 'x', '--dir', dir)).out).toBe(STATE_TEXT);
  });
});

describe('refusals that protect the key', () => {
  it('refuses a key file readable by group/other (0644), telling the user to chmod 600 it', async () => {
    await saved('work');
    chmodSync(keyFile(), 0o644);
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.out).toBe('');
    expect(load.err).toContain(`chmod 600 ${keyFile()}`);
    expect(load.err).toMatch(/^rampart: permissions 0644 for the vault key file .* are too open/);
    const save = await session('save', '--name', 'more', '--file', stateFile);
    expect(save.code).toBe(1);
    expect(existsSync(sessionFile('more'))).toBe(false);
    chmodSync(keyFile(), 0o600);
    expect((await session('load', '--name', 'work')).code).toBe(0);
  });

  it('refuses a key file of the wrong length or format', async () => {
    await saved('work');
    for (const bad of [
      randomBytes(32), // raw bytes, not base64
      `${randomBytes(31).toString('base64')}\n`,
      `${randomBytes(33).toString('base64')}\n`,
      `${randomBytes(32).toString('hex')}\n`,
      '',
    ]) {
      rmSync(keyFile());
      writeFileSync(keyFile(), bad, { mode: 0o600 });
      const load = await session('load', '--name', 'work');
      expect(load.code).toBe(1);
      expect(load.err).toMatch(/is not a vault key \(expected one line of base64 of 32 bytes\)/);
    }
  });

  it('a wrong key (the key file replaced) fails with a clear message and exit 1', async () => {
    await saved('work');
    rmSync(keyFile());
    writeFileSync(keyFile(), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.out).toBe('');
    expect(load.err).toMatch(
      /^rampart: cannot decrypt browser-session "work": the key file .* is not the one/,
    );
    expect(load.err).not.toMatch(NO_STACK);
    expectNoSecretsIn(load.err);
  });

  it('a missing key file fails on load, and save will not mint a new key next to existing sessions', async () => {
    await saved('work');
    rmSync(keyFile());
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.err).toMatch(/no vault key file at /);
    const save = await session('save', '--name', 'new', '--file', stateFile);
    expect(save.code).toBe(1);
    expect(save.err).toMatch(/already holds encrypted files: restore the key file/);
    expect(existsSync(keyFile())).toBe(false);
  });

  it('refuses a key file that is a symbolic link', async () => {
    await saved('work');
    const real = join(root, 'real.key');
    copyFileSync(keyFile(), real);
    chmodSync(real, 0o600);
    rmSync(keyFile());
    symlinkSync(real, keyFile());
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.err).toMatch(/is a symbolic link/);
  });
});

describe('tampering and moved files', () => {
  it('a tampered envelope (one character flipped) fails with a clear message and exit 1', async () => {
    await saved('work');
    const path = sessionFile('work');
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    const envelope: string = doc.envelope;
    const i = envelope.length - 30; // inside the ciphertext
    doc.envelope = `${envelope.slice(0, i)}${envelope[i] === 'A' ? 'B' : 'A'}${envelope.slice(i + 1)}`;
    writeFileSync(path, JSON.stringify(doc));
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.out).toBe('');
    expect(load.err).toMatch(/^rampart: cannot decrypt browser-session "work": .* was modified or copied/);
    expect(load.err).not.toMatch(NO_STACK);
  });

  it('a file that is not a vault file is reported as such', async () => {
    await saved('work');
    writeFileSync(sessionFile('work'), '{"v":1}');
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.err).toMatch(/is not a valid vault file: unexpected fields/);
  });

  it('a session file copied to another name fails to open (the header check, and the AAD if the header is edited)', async () => {
    await saved('work');
    copyFileSync(sessionFile('work'), sessionFile('copy'));
    const plain = await session('load', '--name', 'copy');
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/was not saved as browser-session "copy" \(was it copied or renamed\?\)/);

    // Rewrite the unauthenticated header to match: now only the AAD binding stands in the way.
    const doc = JSON.parse(readFileSync(sessionFile('work'), 'utf8'));
    writeFileSync(sessionFile('copy'), JSON.stringify({ ...doc, name: 'copy' }));
    const edited = await session('load', '--name', 'copy');
    expect(edited.code).toBe(1);
    expect(edited.out).toBe('');
    expect(edited.err).toMatch(
      /^rampart: cannot decrypt browser-session "copy": .* copied from another name/,
    );
    expect((await session('load', '--name', 'work')).out).toBe(STATE_TEXT);
  });
});

describe('names and inputs', () => {
  it.each([
    '../evil',
    '..',
    '.hidden',
    'a/b',
    '/etc/passwd',
    'a b',
    '-dash-first',
    'x'.repeat(65),
    'name\u0000nul',
    'ünicode',
  ])('refuses the name %j with exit 2 and writes nothing anywhere', async (name) => {
    const before = readdirSync(root).sort();
    for (const args of [
      ['save', '--name', name, '--file', stateFile],
      ['load', '--name', name],
      ['load', '--name', name, '--out', join(root, 'out.json')],
      ['delete', '--name', name],
    ]) {
      const result = await session(...args);
      expect(result.code, `${args.join(' ')}: ${result.err}`).toBe(2);
      expect(result.err).toMatch(/^rampart: a name must start with a letter or digit/);
    }
    expect(readdirSync(root).sort()).toEqual(before);
    expect(existsSync(join(root, 'evil.vault'))).toBe(false);
  });

  it('a missing --name is a usage error (exit 2)', async () => {
    for (const sub of ['save', 'load', 'delete']) {
      const result = await session(sub);
      expect(result.code).toBe(2);
      expect(result.err).toBe('rampart: give the session a name with --name <name>\n');
    }
  });

  it('unknown options and a missing subcommand are usage errors (exit 2)', async () => {
    expect((await session('load', '--name', 'x', '--bogus')).code).toBe(2);
    expect((await session('frobnicate')).code).toBe(2);
    expect((await session()).code).toBe(2);
    expect((await session('--help')).code).toBe(0);
  });

  it.each([
    ['not JSON', `cookie=${SECRETS.sid}`, /the input is not JSON/],
    ['a JSON array', '[]', /the input is not a storage state/],
    ['an object without origins', JSON.stringify({ cookies: [] }), /the input is not a storage state/],
    ['cookies not an array', JSON.stringify({ cookies: {}, origins: [] }), /not a storage state/],
    [
      'a cookie without a string value',
      JSON.stringify({ cookies: [{ name: 'a', value: 1, domain: 'x' }], origins: [] }),
      /cookies\[0\] must be an object/,
    ],
    [
      'a cookie echoing nothing back',
      JSON.stringify({ cookies: [{ name: 'a', value: SECRETS.sid }], origins: [] }),
      /cookies\[0\] must be an object/,
    ],
    [
      'bad localStorage',
      JSON.stringify({ cookies: [], origins: [{ origin: 'https://x', localStorage: [{ name: 'a' }] }] }),
      /origins\[0\] must be an object/,
    ],
    ['an empty file', '', /the input is not JSON/],
  ])('refuses %s (exit 2), echoing no value and writing nothing', async (_what, text, message) => {
    writeFileSync(stateFile, text);
    const result = await session('save', '--name', 'bad', '--file', stateFile);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.err).toMatch(/Playwright\/Puppeteer storage state|must be an object/);
    expectNoSecretsIn(result.err);
    expect(existsSync(cfg)).toBe(false);
  });

  it('a missing --file is a usage error', async () => {
    const result = await session('save', '--name', 'x', '--file', join(root, 'nope.json'));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/cannot read --file .*nope\.json \(ENOENT\)/);
  });
});

describe('list and delete', () => {
  it('list shows names, sizes and times, never values; --json too', async () => {
    const empty = await session('list');
    expect(empty).toEqual({ code: 0, out: `no saved sessions in ${cfg}\n`, err: '' });
    await saved('work');
    await saved('alpha');
    const list = await session('list');
    expect(list.code).toBe(0);
    const lines = list.out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+BYTES\s+UPDATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^alpha\\s+${Buffer.byteLength(STATE_TEXT)}\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`),
    );
    expect(lines[2]).toMatch(/^work\s/);
    const json = await session('list', '--json');
    const rows = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name)).toEqual(['alpha', 'work']);
    expect(rows[0]).toEqual({
      name: 'alpha',
      bytes: Buffer.byteLength(STATE_TEXT),
      updatedAt: expect.stringMatching(/Z$/),
      damaged: false,
    });
    for (const text of [list.out, list.err, json.out, json.err]) {
      expectNoSecretsIn(text);
      expect(text).not.toContain('session_id');
    }
  });

  it('list flags a damaged file instead of failing', async () => {
    await saved('work');
    writeFileSync(sessionFile('broken'), 'garbage');
    const list = await session('list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out)).toMatchObject([
      { name: 'broken', damaged: true },
      { name: 'work', damaged: false },
    ]);
  });

  it('delete removes the file; load then fails with a not-found message', async () => {
    await saved('work');
    const del = await session('delete', '--name', 'work');
    expect(del.code).toBe(0);
    expect(del.err).toBe(`deleted session "work" (${sessionFile('work')})\n`);
    expect(existsSync(sessionFile('work'))).toBe(false);
    const load = await session('load', '--name', 'work');
    expect(load.code).toBe(1);
    expect(load.err).toMatch(/^rampart: no saved session named "work"/);
    const again = await session('delete', '--name', 'work');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no saved session named "work"/);
  });
});

describe('load --out', () => {
  it('writes the JSON with mode 0600 and refuses to overwrite without --force', async () => {
    await saved('work');
    const out = join(root, 'out', 'state.json');
    mkdirSync(join(root, 'out'));
    const first = await session('load', '--name', 'work', '--out', out);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(STATE_TEXT);
    expect(modeOf(out)).toBe(0o600);

    writeFileSync(out, 'keep me');
    chmodSync(out, 0o644);
    const refused = await session('load', '--name', 'work', '--out', out);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already exists; pass --force to replace it/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');

    const forced = await session('load', '--name', 'work', '--out', out, '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(STATE_TEXT);
    expect(modeOf(out)).toBe(0o600);
    expect(readdirSync(join(root, 'out'))).toEqual(['state.json']);
  });

  it('fails cleanly when the --out directory does not exist', async () => {
    await saved('work');
    const result = await session('load', '--name', 'work', '--out', join(root, 'missing', 'x.json'));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/cannot write .*x\.json \(ENOENT\)/);
  });
});

describe('the vault is generic over kinds', () => {
  it('stores another kind in its own directory, bound to that kind', () => {
    const vault = openVault({ dir: cfg });
    const token = Buffer.from('rk_login_token_SECRET_0123456789');
    const { path } = vault.put('cli-token', 'default', token);
    expect(path).toBe(join(cfg, 'cli-token', 'default.vault'));
    expect(token.toString()).toBe('rk_login_token_SECRET_0123456789'); // caller's bytes untouched
    expect(vault.get('cli-token', 'default').toString()).toBe(token.toString());
    expect(readFileSync(path, 'utf8')).not.toContain('SECRET');
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(cfg, 'cli-token'))).toBe(0o700);

    // Kinds are separate namespaces: same name, different values.
    vault.put('browser-session', 'default', Buffer.from('{"cookies":[],"origins":[]}'));
    expect(vault.list('cli-token').map((e) => e.name)).toEqual(['default']);
    expect(vault.list('cli-token')[0]?.bytes).toBe(token.length);
    expect(vault.list('browser-session').map((e) => e.name)).toEqual(['default']);
    expect(vault.list('never-used')).toEqual([]);
    expect(vault.get('browser-session', 'default').toString()).toBe('{"cookies":[],"origins":[]}');
  });

  it('a file moved to another kind fails to open even with its header rewritten (kind is in the AAD)', () => {
    const vault = openVault({ dir: cfg });
    vault.put('cli-token', 'default', Buffer.from('token'));
    const doc = JSON.parse(readFileSync(join(cfg, 'cli-token', 'default.vault'), 'utf8'));
    mkdirSync(join(cfg, 'other-kind'), { mode: 0o700 });
    writeFileSync(join(cfg, 'other-kind', 'default.vault'), JSON.stringify({ ...doc, kind: 'other-kind' }));
    expect(() => vault.get('other-kind', 'default')).toThrow(
      expect.objectContaining({ name: 'VaultError', code: 'open_failed' }),
    );
    writeFileSync(join(cfg, 'other-kind', 'default.vault'), JSON.stringify(doc));
    expect(() => vault.get('other-kind', 'default')).toThrow(
      expect.objectContaining({ code: 'open_failed', message: expect.stringMatching(/copied or renamed/) }),
    );
  });

  it('reports each failure with a VaultError code', () => {
    const vault = openVault({ dir: cfg });
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(VaultError);
        return (err as VaultError).code;
      }
      throw new Error('expected a VaultError');
    };
    expect(codeOf(() => vault.get('cli-token', 'nothing'))).toBe('not_found');
    expect(codeOf(() => vault.put('cli-token', '../x', Buffer.from('x')))).toBe('invalid_name');
    expect(codeOf(() => vault.put('Bad Kind', 'x', Buffer.from('x')))).toBe('invalid_kind');
    expect(codeOf(() => vault.put('../etc', 'x', Buffer.from('x')))).toBe('invalid_kind');
    expect(codeOf(() => vault.put('sessions', 'x', Buffer.from('x')))).toBe('invalid_kind');
    expect(existsSync(cfg)).toBe(false);
    vault.put('cli-token', 'a', Buffer.from('x'));
    rmSync(vault.keyFile);
    expect(codeOf(() => vault.get('cli-token', 'a'))).toBe('key_missing');
    writeFileSync(vault.keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o640 });
    expect(codeOf(() => vault.get('cli-token', 'a'))).toBe('key_insecure');
    chmodSync(vault.keyFile, 0o600);
    expect(codeOf(() => vault.get('cli-token', 'a'))).toBe('open_failed');
    writeFileSync(vault.keyFile, 'short\n');
    expect(codeOf(() => vault.get('cli-token', 'a'))).toBe('key_invalid');
    expect(vault.delete('cli-token', 'a')).toBe(true);
    expect(vault.delete('cli-token', 'a')).toBe(false);
  });

  it('the config dir defaults to RAMPART_CONFIG_DIR, then $XDG_CONFIG_HOME/rampart, then ~/.config/rampart', () => {
    expect(defaultConfigDir({ RAMPART_CONFIG_DIR: '/a/b', XDG_CONFIG_HOME: '/x' })).toBe('/a/b');
    expect(defaultConfigDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/rampart');
    expect(defaultConfigDir({ XDG_CONFIG_HOME: 'relative' })).toMatch(/\/\.config\/rampart$/);
    expect(defaultConfigDir({})).toMatch(/\/\.config\/rampart$/);
    expect(openVault({ dir: cfg }).keyFile).toBe(join(cfg, 'vault.key'));
  });

  it('an atomic write that cannot complete removes its temp file', () => {
    mkdirSync(cfg);
    const target = join(cfg, 'file');
    writeFileSync(target, 'old');
    expect(() => writeFileAtomicSync(target, Buffer.from('new'), { overwrite: false })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(readdirSync(cfg)).toEqual(['file']);
    mkdirSync(join(cfg, 'dir-target'));
    writeFileSync(join(cfg, 'dir-target', 'x'), 'x');
    expect(() => writeFileAtomicSync(join(cfg, 'dir-target'), Buffer.from('new'))).toThrow();
    expect(readdirSync(cfg).sort()).toEqual(['dir-target', 'file']);
    expect(readFileSync(target, 'utf8')).toBe('old');
  });
});

describe('the built binary (a real process)', () => {
  /** Runs dist/bin.js with a clean environment: nothing RAMPART_* from the parent, HOME in the temp dir. */
  async function binary(args: string[], stdin?: string): Promise<Result> {
    if (!existsSync(BIN))
      throw new Error(`${BIN} is missing: run \`npx tsc -b\` (npm test does it in pretest)`);
    const env = cleanEnv(
      { HOME: join(root, 'home'), RAMPART_CONFIG_DIR: cfg },
      /^(RAMPART_|XDG_CONFIG_HOME$|HOME$|NODE_ENV$)/,
    );
    const r = await runCli(['runtime', 'session', ...args], {
      cwd: root,
      env,
      ...(stdin === undefined ? {} : { stdin }),
    });
    return { code: r.code, out: r.stdout, err: r.stderr };
  }

  it('saves from standard input, loads to standard output, lists and deletes; files 0600, no plaintext', async () => {
    const save = await binary(['save', '--name', 'crm'], STATE_TEXT);
    expect(save.code, save.err).toBe(0);
    expect(save.err).toBe(`saved session "crm" (3 cookies, 1 origin), encrypted at ${sessionFile('crm')}\n`);
    expect(modeOf(sessionFile('crm'))).toBe(0o600);
    expect(modeOf(keyFile())).toBe(0o600);
    expect(modeOf(cfg)).toBe(0o700);
    expectNoPlaintext(cfg);
    expect(existsSync(join(root, 'home'))).toBe(false);

    const load = await binary(['load', '--name', 'crm']);
    expect(load.code, load.err).toBe(0);
    expect(load.out).toBe(STATE_TEXT);

    const list = await binary(['list']);
    expect(list.out).toMatch(/^crm\s/m);
    expectNoSecretsIn(list.out);

    const bad = await binary(['save', '--name', '../evil'], STATE_TEXT);
    expect(bad.code).toBe(2);
    expect(bad.err).not.toMatch(NO_STACK);
    const notState = await binary(['save', '--name', 'x'], `{"sid":"${SECRETS.sid}"}`);
    expect(notState.code).toBe(2);
    expectNoSecretsIn(notState.err);

    chmodSync(keyFile(), 0o644);
    const insecure = await binary(['load', '--name', 'crm']);
    expect(insecure.code).toBe(1);
    expect(insecure.err).toMatch(/chmod 600/);
    expect(insecure.err).not.toMatch(NO_STACK);
    chmodSync(keyFile(), 0o600);

    expect((await binary(['delete', '--name', 'crm'])).code).toBe(0);
    const gone = await binary(['load', '--name', 'crm']);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^rampart: no saved session named "crm"/);
  }, 30_000);

  it('reads a pipe whose writer is slow to start (`node login.js | rampart ...`), not EAGAIN', async () => {
    const stateFile = join(root, 'slow-state.json');
    writeFileSync(stateFile, STATE_TEXT);
    const env = cleanEnv(
      { HOME: join(root, 'home'), RAMPART_CONFIG_DIR: cfg },
      /^(RAMPART_|XDG_CONFIG_HOME$|HOME$|NODE_ENV$)/,
    );
    // A shell pipeline, as in docs/SKILLS.md: the reader starts before the writer has written anything.
    const r = spawnSync(
      'sh',
      ['-c', '(sleep 0.5; cat "$STATE") | "$NODE" "$BIN" runtime session save --name slow'],
      { cwd: root, env: { ...env, STATE: stateFile, NODE: process.execPath, BIN }, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^saved session "slow" \(3 cookies, 1 origin\)/);
  }, 30_000);
});
