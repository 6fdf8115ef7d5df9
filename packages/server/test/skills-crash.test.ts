/**
 * Crash safety of `rampart runtime sync`: the built CLI is killed with SIGKILL at random points while it
 * installs a new version, in a loop. After every kill, `<dir>/<skill>/current` must be exactly the old version
 * or exactly the new one (every file, every byte, nothing extra), and the next sync must finish the job and
 * clean up what the killed one left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { PackageFile } from '@rampart/core/skillpack';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';
import { fileTree, makePackage, makeSigner, type Signer, upload } from './skills-support.js';

const BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const ROUNDS = 8;
const FILES = 150;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Version `v`: every file's content depends on v, and odd versions have a file even ones lack. */
function versionFiles(v: number): PackageFile[] {
  const files: PackageFile[] = [];
  for (let i = 0; i < FILES; i++) {
    const body = `// step ${i} of version ${v}\n${`export const s${i} = ${JSON.stringify({ v, i })};\n`.repeat(100)}`;
    files.push({ path: `steps/${String(i).padStart(3, '0')}.js`, bytes: Buffer.from(body) });
  }
  if (v % 2 === 1) files.push({ path: 'odd-only.json', bytes: Buffer.from(`{"v":${v}}`) });
  return files;
}

const expectedTree = (v: number) => Object.fromEntries(versionFiles(v).map((f) => [f.path, sha(f.bytes)]));

function startSync(
  baseUrl: string,
  token: string,
  dir: string,
): { child: ChildProcess; stderr: () => string; exited: Promise<number | null>; verifying: Promise<number> } {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RAMPART_')) env[k] = v;
  const child = spawn(process.execPath, [BIN, 'runtime', 'sync', '--server', baseUrl, '--dir', dir], {
    env: { ...env, RAMPART_RUNTIME_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let markVerifying: () => void = () => {};
  const verifying = new Promise<number>((r) => {
    markVerifying = () => r(Date.now());
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.includes('verifying')) markVerifying();
  });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, stderr: () => err, exited, verifying };
}

describe('runtime sync survives kill -9 at random points (built CLI, pglite)', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let owner: Account;
  let signer: Signer;
  let token: string;
  let dir: string;

  beforeAll(async () => {
    srv = await startTestServer('pglite');
    owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    signer = makeSigner();
    await a.post(`/api/orgs/${owner.orgId}/signing-keys`, { publicKey: signer.publicKeyPem });
    token = (await a.post<{ token: string }>(`/api/orgs/${owner.orgId}/runtime-tokens`, { name: 'rt' })).body
      .token;
    dir = mkdtempSync(join(tmpdir(), 'rampart-crash-'));
  });
  afterAll(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = async (v: number) => {
    const r = await upload(
      srv.baseUrl,
      owner.token,
      owner.orgId,
      await makePackage(signer, 'bulk', v, versionFiles(v)),
    );
    expect(r.status, r.text).toBe(201);
  };
  /** Runs a sync to the end; returns how long it took from "verifying" (download done) to exit. */
  const finish = async (v: number): Promise<number> => {
    const s = startSync(srv.baseUrl, token, dir);
    expect(await s.exited, s.stderr()).toBe(0);
    const done = Date.now();
    expect(fileTree(join(dir, 'bulk', 'current'))).toEqual(expectedTree(v));
    // Only `current` and the one version it points at remain.
    expect(readdirSync(join(dir, 'bulk'))).toHaveLength(2);
    return s.stderr().includes('verifying') ? done - (await s.verifying) : 0;
  };

  it(`${ROUNDS} rounds: after each SIGKILL the skill is wholly the old version or wholly the new one`, async () => {
    await publish(1);
    await finish(1);
    // One uninterrupted verify-and-install of the same size sets the window the kills are spread over.
    await publish(2);
    const window = Math.max(50, await finish(2));
    const outcomes = { old: 0, new: 0, midInstall: 0 };
    for (let v = 3; v <= ROUNDS + 2; v++) {
      await publish(v);
      const s = startSync(srv.baseUrl, token, dir);
      // Kill somewhere between the end of the download and the end of the install (or just after it).
      await Promise.race([s.verifying, s.exited]);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * window * 1.1)));
      s.child.kill('SIGKILL');
      await s.exited;
      const leftovers =
        readdirSync(join(dir, 'bulk')).filter((n) => n !== 'current').length > 1 ||
        readdirSync(join(dir, 'bulk')).some((n) => n.startsWith('.'));
      if (leftovers) outcomes.midInstall++;
      const now = fileTree(join(dir, 'bulk', 'current'));
      const isOld = isDeepStrictEqual(now, expectedTree(v - 1));
      const isNew = isDeepStrictEqual(now, expectedTree(v));
      expect(isOld || isNew, `round ${v}: current is neither v${v - 1} nor v${v}`).toBe(true);
      outcomes[isNew ? 'new' : 'old']++;
      // The next sync (lock left by the dead process, maybe half a staging tree) completes and cleans up.
      await finish(v);
    }
    console.log(`[crash loop] window ${window} ms, outcomes ${JSON.stringify(outcomes)}`);
    expect(outcomes.old + outcomes.new).toBe(ROUNDS);
    // The kills must really land inside installs for the loop to prove anything.
    expect(outcomes.midInstall).toBeGreaterThan(0);
  }, 240_000);
});
