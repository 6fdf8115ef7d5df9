/**
 * `rampart login | whoami | logout`, the built binary (packages/cli/dist/bin.js; `npm test` builds it first) as a
 * real process against a real server on loopback: the device code is read from the CLI's stderr while it polls,
 * approved (or denied) through the API with a signed-up user's session, and the credential lands encrypted in
 * the vault (mode 0600), never in plaintext, never on stdout or stderr. Each test has its own config dir.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Account, api, cleanEnv, runCli, signup, spawnCli } from '@rampart/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { CLI_CREDENTIAL_KIND, type StoredCredential, vaultNameFor } from '../src/commands/login.js';
import { openVault } from '../src/runtime/vault.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

const CODE_LINE = /Open (\S+) and enter code ([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})/;

interface Login {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

describe('rampart login / whoami / logout (built CLI, real server)', () => {
  let srv: Srv;
  let user: Account;
  const dirs: string[] = [];
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    user = await signup(srv.baseUrl, { orgName: 'CLI Login Org' });
  });
  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
    children.clear();
  });
  afterAll(async () => {
    await srv?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const configDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'rampart-login-'));
    dirs.push(d);
    return d;
  };
  const envFor = (dir: string, extra: Record<string, string> = {}) =>
    cleanEnv({ RAMPART_CONFIG_DIR: dir, ...extra });
  const vaultFile = (dir: string) =>
    join(dir, CLI_CREDENTIAL_KIND, `${vaultNameFor(new URL(srv.baseUrl))}.vault`);

  function startLogin(env: NodeJS.ProcessEnv, args = ['login', '--server', srv.baseUrl]): Login {
    const run = spawnCli(args, env);
    children.add(run.child);
    return { ...run, exited: run.exited.then((e) => e.code) };
  }

  /** Waits for the "Open <url> and enter code XXXX-XXXX" line on stderr. */
  async function codeOf(run: Login): Promise<{ uri: string; code: string }> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = CODE_LINE.exec(run.stderr());
      if (m?.[1] && m[2]) return { uri: m[1], code: m[2] };
      if (Date.now() > deadline) throw new Error(`no code line; stderr so far: ${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('signs in through the device flow; the credential is stored encrypted (0600); whoami, then logout revokes and deletes it', async () => {
    const dir = configDir();
    const env = envFor(dir);
    const run = startLogin(env);
    const { uri, code } = await codeOf(run);
    expect(uri).toBe(`${srv.rampart.services.publicUrl}/device`);
    // No link carrying the code (the server sends no verification_uri_complete: RFC 8628 §5.4 phishing).
    expect(run.stderr()).not.toContain('user_code=');
    const ok = await api(srv.baseUrl, user.token).post('/api/auth/device/approve', { userCode: code });
    expect(ok.status, ok.text).toBe(200);
    expect(await run.exited).toBe(0);
    expect(run.stdout().trim()).toBe(`Signed in as ${user.email}`);

    const file = vaultFile(dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(
      openVault({ dir })
        .get(CLI_CREDENTIAL_KIND, vaultNameFor(new URL(srv.baseUrl)))
        .toString('utf8'),
    ) as StoredCredential;
    expect(saved.token).toMatch(/^cli_live_[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    expect(saved.server).toBe(srv.baseUrl);
    expect(saved.credentialId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(saved.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    // Encrypted at rest, and never printed.
    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toContain(saved.token);
    expect(raw).not.toContain(saved.token.slice('cli_live_'.length));
    expect(run.stdout() + run.stderr()).not.toContain(saved.token.slice('cli_live_'.length, 30));

    const who = await runCli(['whoami'], { env: envFor(dir, { RAMPART_SERVER: srv.baseUrl }) });
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toContain(user.email);
    expect(who.stdout).toContain(saved.credentialId);
    expect(who.stdout + who.stderr).not.toContain(saved.token);

    const sessions = await api(srv.baseUrl, user.token).get<{
      credentials: Array<{ id: string; name: string }>;
    }>('/api/cli-credentials');
    expect(sessions.body.credentials.find((c) => c.id === saved.credentialId)?.name).toMatch(
      /^rampart CLI on rampart-cli\/\S+ \(/,
    );

    const out = await runCli(['logout', '--server', srv.baseUrl], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`Signed out of ${srv.baseUrl}`);
    expect(existsSync(file)).toBe(false);
    // Revoked on the server: the token is refused even when presented directly.
    const refused = await fetch(`${srv.baseUrl}/api/cli/whoami`, {
      headers: { authorization: `Bearer ${saved.token}` },
    });
    expect(refused.status).toBe(401);
    const after = await runCli(['whoami', '--server', srv.baseUrl], { env });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('not signed in');
  });

  it('exits 1 with a clear message when the request is denied in the dashboard, and saves nothing', async () => {
    const dir = configDir();
    const run = startLogin(envFor(dir, { RAMPART_SERVER: srv.baseUrl }), ['login']);
    const { code } = await codeOf(run);
    expect(
      (await api(srv.baseUrl, user.token).post('/api/auth/device/deny', { userCode: code })).status,
    ).toBe(200);
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain('rampart: the sign-in request was denied in the dashboard');
    expect(run.stdout()).toBe('');
    expect(existsSync(vaultFile(dir))).toBe(false);
  });

  it('Ctrl-C stops the wait cleanly (exit 130) and saves nothing', async () => {
    const dir = configDir();
    const run = startLogin(envFor(dir));
    await codeOf(run);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.stderr()).toContain('login cancelled');
    expect(run.stderr()).not.toMatch(/^\s+at /m);
    expect(existsSync(vaultFile(dir))).toBe(false);
  });

  it('logout with the server unreachable still deletes the local credential, says it stays valid, and exits 1', async () => {
    const dir = configDir();
    const gone = 'http://127.0.0.1:9';
    const name = vaultNameFor(new URL(gone));
    const record: StoredCredential = {
      server: gone,
      token: `cli_live_${'2'.repeat(44)}`,
      createdAt: new Date().toISOString(),
    };
    openVault({ dir }).put(CLI_CREDENTIAL_KIND, name, Buffer.from(JSON.stringify(record)));
    const r = await runCli(['logout', '--server', gone], { env: envFor(dir) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('could not be reached');
    expect(r.stderr).toContain('stays valid until it expires or is revoked in the dashboard');
    expect(r.stderr).not.toContain(record.token);
    expect(existsSync(join(dir, CLI_CREDENTIAL_KIND, `${name}.vault`))).toBe(false);
  });

  it('refuses plain http to a non-loopback server and a missing --server (usage errors, exit 2)', async () => {
    const dir = configDir();
    const insecure = await runCli(['login', '--server', 'http://rampart.example.com'], { env: envFor(dir) });
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('https');
    const missing = await runCli(['whoami'], { env: envFor(dir) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('RAMPART_SERVER');
  });

  it('vault names: host and port, safe for a file name', () => {
    expect(vaultNameFor(new URL('https://rampart.example.com'))).toBe('rampart.example.com');
    expect(vaultNameFor(new URL('http://127.0.0.1:8787'))).toBe('127.0.0.1_8787');
    expect(vaultNameFor(new URL('http://[::1]:8787'))).toBe('h__1_8787');
    const long = vaultNameFor(new URL(`https://${'a'.repeat(60)}.example.com`));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  });
});
