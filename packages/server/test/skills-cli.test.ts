/**
 * The skill workflow with the built `rampart` binary against a real server: `keys generate`, `pack` (refusing
 * every kind of auth file and symlinks, deterministic output), `publish`, and `runtime sync` (first-use key
 * pinning, upgrades, and refusal of tampered files and manifests, foreign keys, unlisted files and rollbacks,
 * the installed version staying in place). Tampering is done where an attacker would: in the server's database.
 */

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage, parsePrivateKey, readArchive, writeArchive } from '@rampart/core/skillpack';
import { type Account, api, cleanEnv, runCli, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';
import { fileTree, makePackage, makeSigner } from './skills-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

const rampart = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, { env: cleanEnv(extra) });

const temp = (tag: string) => mkdtempSync(join(tmpdir(), `rampart-${tag}-`));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function writeSkill(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
}

const cleanSkill = (version: number): Record<string, string> => ({
  'skill.json': JSON.stringify({ name: 'invoices', version }),
  'steps/main.json': JSON.stringify({
    steps: [{ goto: 'https://billing.example.com/' }, { click: '#export' }],
    version,
  }),
  'steps/login.yaml': '- fill: { selector: "#user", from: session }\n',
  'lib/parse.js': `export const parse = (row) => row.split(','); // v${version}\n`,
});

describe('rampart keys, pack, publish and runtime sync (built CLI, pglite)', () => {
  let srv: Srv;
  let owner: Account;
  let apiKey: string;
  let runtimeToken: string;
  let keyFile: string;
  let work: string;
  const dirs: string[] = [];
  const o = () => `/api/orgs/${owner.orgId}`;
  const serverEnv = () => ({
    RAMPART_SERVER: srv.baseUrl,
    RAMPART_ORG_ID: owner.orgId,
    RAMPART_API_KEY: apiKey,
  });
  const sync = (dir: string, ...extra: string[]) =>
    rampart(['runtime', 'sync', '--dir', dir, '--json', ...extra], {
      RAMPART_SERVER: srv.baseUrl,
      RAMPART_RUNTIME_TOKEN: runtimeToken,
    });
  const packAndPublish = async (version: number, files = cleanSkill(version)) => {
    const src = join(work, `src-${version}-${randomBytes(3).toString('hex')}`);
    writeSkill(src, files);
    const out = join(work, `invoices-${version}.skill`);
    const p = await rampart(['pack', src, '--key', keyFile, '--out', out, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const pub = await rampart(['publish', out], serverEnv());
    expect(pub.code, pub.stderr).toBe(0);
    return readFileSync(out);
  };
  /** Replaces a stored package's bytes in place, as an attacker with database access would. */
  const tamperStored = (version: number, bytes: Buffer) =>
    srv.rampart.services.db.owner((q) =>
      q.query('UPDATE skill_packages SET content = $1 WHERE org_id = $2 AND name = $3 AND version = $4', [
        bytes,
        owner.orgId,
        'invoices',
        version,
      ]),
    );

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    apiKey = (await a.post<{ key: string }>(`${o()}/api-keys`, { name: 'ci' })).body.key;
    runtimeToken = (await a.post<{ token: string }>(`${o()}/runtime-tokens`, { name: 'laptop' })).body.token;
    work = temp('skills');
    dirs.push(work);
    keyFile = join(work, 'signing.key');
  });
  afterAll(async () => {
    await srv?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keys generate writes the private key 0600 and the .pub 0644, refuses to overwrite, and the org registers it', async () => {
    const r = await rampart(['keys', 'generate', '--out', keyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(`${keyFile}.pub`).mode & 0o777).toBe(0o644);
    const { keyId } = JSON.parse(r.stdout) as { keyId: string };
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
    const again = await rampart(['keys', 'generate', '--out', keyFile]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    const reg = await api(srv.baseUrl, owner.token).post<{ keyId: string }>(`${o()}/signing-keys`, {
      publicKey: readFileSync(`${keyFile}.pub`, 'utf8'),
    });
    expect(reg.body.keyId).toBe(keyId);
  });

  it('pack is deterministic: the same folder packed twice (and a copy made in another order) gives the same bytes', async () => {
    const a = join(work, 'det-a');
    const b = join(work, 'det-b');
    const files = cleanSkill(1);
    writeSkill(a, files);
    writeSkill(b, Object.fromEntries(Object.entries(files).reverse()));
    const outs = [join(work, 'd1.skill'), join(work, 'd2.skill'), join(work, 'd3.skill')] as const;
    for (const [src, out] of [
      [a, outs[0]],
      [a, outs[1]],
      [b, outs[2]],
    ] as const) {
      const r = await rampart(['pack', src, '--key', keyFile, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
    }
    const [x, y, z] = outs.map((p) => readFileSync(p));
    expect(x?.equals(y as Buffer)).toBe(true);
    expect(x?.equals(z as Buffer)).toBe(true);
  });

  it('pack --name and --version override skill.json (the root --version no longer swallows them)', async () => {
    const src = join(work, 'named');
    writeSkill(src, cleanSkill(1));
    const cwd = join(work, 'named-out');
    mkdirSync(cwd);
    const r = await runCli(
      ['pack', src, '--key', keyFile, '--name', 'invoice-export', '--version', '3', '--json'],
      { env: cleanEnv(), cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^0\.1\.0$/m);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'invoice-export', version: 3 });
    expect(existsSync(join(cwd, 'invoice-export-3.skill'))).toBe(true);
  });

  it('pack refuses every kind of auth file, listing each path with its reason, and writes nothing', async () => {
    const src = join(work, 'leaky');
    const jwt = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"42"}').toString('base64url')}.${'s'.repeat(43)}`;
    const offenders: Record<string, string | Buffer> = {
      'auth/storage-state.json': JSON.stringify({ cookies: [{ name: 'sid', value: 'abc' }], origins: [] }),
      'profile/Default/Cookies': Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(64)]),
      'profile/Default/Login Data': 'x',
      'profile/Local State': '{"os_crypt":{}}',
      'ff/cookies.sqlite': Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(64)]),
      '.env': 'API_TOKEN=abc\n',
      'config/prod.env': 'X=1\n',
      'recordings/session.har': JSON.stringify({
        log: {
          entries: [
            {
              request: { headers: [{ name: 'Authorization', value: 'Bearer x' }], cookies: [] },
              response: { headers: [] },
            },
          ],
        },
      }),
      'keys/deploy.pem': `-----BEGIN ${'RSA PRIVATE'} KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n`,
      'keys/id_ed25519': 'x',
      'steps/api.js': `const t = '${jwt}';\n`,
      'steps/gh.js': `fetch(u, { headers: { a: '${'ghp'}_${'A'.repeat(36)}' } });\n`,
    };
    writeSkill(src, { ...cleanSkill(1), ...offenders });
    symlinkSync('/etc/passwd', join(src, 'escape.json'));
    symlinkSync('steps/main.json', join(src, 'alias.json'));
    const out = join(work, 'leaky.skill');
    const r = await rampart(['pack', src, '--key', keyFile, '--out', out]);
    expect(r.code).toBe(1);
    for (const path of [...Object.keys(offenders), 'escape.json', 'alias.json'])
      expect(r.stderr, path).toContain(`  ${path}: `);
    expect(r.stderr).toContain('symbolic link pointing outside the package folder');
    expect(r.stderr).not.toContain('ghp_AAAA');
    expect(r.stderr).not.toContain(jwt);
    expect(existsSync(out)).toBe(false);
  });

  it('pack skips .git, and refuses a FIFO without hanging', async () => {
    const src = join(work, 'git');
    writeSkill(src, {
      ...cleanSkill(1),
      '.git/config': '[remote "origin"]\n url = https://u:p4ss@git.example.com/x\n',
    });
    const ok = await rampart(['pack', src, '--key', keyFile, '--out', join(work, 'git.skill')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('skipped .git/');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    {
      const r = await rampart(['pack', src, '--key', keyFile, '--out', join(work, 'fifo.skill')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('pipe: not a regular file');
    }
  });

  it('publish, then runtime sync pins the key on first use, installs atomically, and is idempotent', async () => {
    await packAndPublish(1);
    const dir = temp('runtime');
    dirs.push(dir);
    const first = await sync(dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('pinned signing key');
    expect(JSON.parse(first.stdout).results).toEqual([
      expect.objectContaining({ name: 'invoices', status: 'installed', to: 1 }),
    ]);
    const expected = Object.fromEntries(
      Object.entries(cleanSkill(1)).map(([p, c]) => [p, sha(Buffer.from(c))]),
    );
    expect(fileTree(join(dir, 'invoices', 'current'))).toEqual(expected);
    expect(readlinkSync(join(dir, 'invoices', 'current'))).toMatch(/^v1-[0-9a-f]{8}$/);
    const trust = JSON.parse(readFileSync(join(dir, '.rampart-runtime', 'trust.json'), 'utf8'));
    expect(trust.skills.invoices.version).toBe(1);
    expect(statSync(join(dir, '.rampart-runtime', 'trust.json')).mode & 0o777).toBe(0o600);
    const again = await sync(dir);
    expect(JSON.parse(again.stdout).results).toEqual([
      { name: 'invoices', status: 'up_to_date', version: 1 },
    ]);
    await packAndPublish(2);
    const up = await sync(dir);
    expect(JSON.parse(up.stdout).results[0]).toMatchObject({ status: 'installed', from: 1, to: 2 });
    expect(readdirSync(join(dir, 'invoices')).sort()).toEqual(
      ['current', readlinkSync(join(dir, 'invoices', 'current'))].sort(),
    );
  });

  describe('refusals: the installed version stays in place', () => {
    let dir: string;
    let installed: Record<string, string>;
    let good3: Buffer;
    const refusedWith = async (code: string) => {
      const r = await sync(dir);
      expect(r.code, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout).results).toEqual([
        expect.objectContaining({ name: 'invoices', status: 'refused', code }),
      ]);
      expect(fileTree(join(dir, 'invoices', 'current'))).toEqual(installed);
      expect(readdirSync(join(dir, 'invoices')).filter((n) => n !== 'current')).toHaveLength(1);
    };

    beforeAll(async () => {
      dir = temp('refusals');
      dirs.push(dir);
      const r = await sync(dir);
      expect(r.code, r.stderr).toBe(0);
      installed = fileTree(join(dir, 'invoices', 'current'));
      good3 = await packAndPublish(3);
    });

    it('a tampered file (hash_mismatch)', async () => {
      const bad = Buffer.from(good3);
      bad[bad.indexOf('#export')] = 'X'.charCodeAt(0);
      await tamperStored(3, bad);
      await refusedWith('hash_mismatch');
    });

    it('a tampered manifest (invalid_signature)', async () => {
      const bad = Buffer.from(good3);
      const at = bad.indexOf('"version":3');
      bad[at + 10] = '4'.charCodeAt(0);
      await tamperStored(3, bad);
      await refusedWith('invalid_signature');
    });

    it('a package signed by a key the runtime never pinned, even one registered on the server (untrusted_key)', async () => {
      const attacker = makeSigner();
      // A compromised server can list any key; a runtime past its first sync only trusts what it pinned.
      const reg = await api(srv.baseUrl, owner.token).post(`${o()}/signing-keys`, {
        publicKey: attacker.publicKeyPem,
      });
      expect(reg.status).toBe(201);
      await tamperStored(3, await makePackage(attacker, 'invoices', 3));
      const r = await sync(dir);
      expect(r.stderr).toContain('does not trust');
      await refusedWith('untrusted_key');
    });

    it('a manifest with a file it does not list (unexpected_file)', async () => {
      const entries = await readArchive(good3, 100);
      await tamperStored(
        3,
        await writeArchive([...entries, { name: 'files/zz-extra.js', bytes: Buffer.from('evil()') }]),
      );
      await refusedWith('unexpected_file');
    });

    it('another skill’s package, validly signed, served under this name (wrong_skill)', async () => {
      const builder = parsePrivateKey(readFileSync(keyFile, 'utf8'));
      const other = await buildPackage(
        { name: 'reports', version: 3, files: [{ path: 'a.json', bytes: Buffer.from('{}') }] },
        builder,
      );
      await tamperStored(3, other.bytes);
      await refusedWith('wrong_skill');
    });

    it('once the genuine package is back, the same sync installs it', async () => {
      await tamperStored(3, good3);
      const ok = await sync(dir);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).results[0]).toMatchObject({ status: 'installed', from: 2, to: 3 });
      installed = fileTree(join(dir, 'invoices', 'current'));
    });

    it('a rollback to an older version, even validly signed (rollback)', async () => {
      // The server "loses" v3 (or an attacker replays an old catalog): v2 becomes the newest it offers.
      await srv.rampart.services.db.owner((q) =>
        q.query('DELETE FROM skill_packages WHERE org_id = $1 AND name = $2 AND version = 3', [
          owner.orgId,
          'invoices',
        ]),
      );
      await refusedWith('rollback');
    });

    it('a trust file that cannot be read stops the sync before anything changes', async () => {
      const trustFile = join(dir, '.rampart-runtime', 'trust.json');
      const saved = readFileSync(trustFile);
      writeFileSync(trustFile, '{"v":2}');
      const r = await sync(dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not a runtime trust file');
      writeFileSync(trustFile, saved);
      chmodSync(trustFile, 0o600);
    });

    it('revoking every pinned key does not make the next key the server lists a "first use" pin', async () => {
      // Whoever controls the org's keys (or the server) revokes the builders' key and registers their own.
      const keys = await api(srv.baseUrl, owner.token).get<{ keys: Array<{ id: string; keyId: string }> }>(
        `${o()}/signing-keys`,
      );
      for (const k of keys.body.keys)
        expect((await api(srv.baseUrl, owner.token).del(`${o()}/signing-keys/${k.id}`)).status).toBe(200);
      const attacker = makeSigner();
      expect(
        (
          await api(srv.baseUrl, owner.token).post(`${o()}/signing-keys`, {
            publicKey: attacker.publicKeyPem,
          })
        ).status,
      ).toBe(201);
      const pub = await api(srv.baseUrl, owner.token).request(
        'POST',
        `${o()}/skills`,
        await makePackage(attacker, 'invoices', 9),
      );
      expect(pub.status, pub.text).toBe(201);
      const r = await sync(dir);
      expect(r.stderr).not.toContain('pinned signing key');
      expect(JSON.parse(r.stdout).results).toEqual([
        expect.objectContaining({ name: 'invoices', status: 'refused', code: 'untrusted_key' }),
      ]);
      const trust = JSON.parse(readFileSync(join(dir, '.rampart-runtime', 'trust.json'), 'utf8'));
      expect(Object.keys(trust.keys)).not.toContain(attacker.keyId);
      expect(fileTree(join(dir, 'invoices', 'current'))).toEqual(installed);
    });
  });
});
