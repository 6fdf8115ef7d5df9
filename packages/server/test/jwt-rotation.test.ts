/**
 * Rolling the JWT key without signing anyone out (issue 23 §4, docs/OPERATIONS.md "JWT secret"): a real server
 * restarted on the same database through each step of the runbook, on PGlite (a data directory on disk) and on
 * PostgreSQL. Sessions, the refresh cookie and widget visitor tokens issued before the roll keep working while
 * the old key is listed, and stop (401) once it is removed; a token naming an unknown kid is 401; a session signed
 * under RAMPART_JWT_SECRET before key ids existed (no kid) still verifies once that secret moves into
 * RAMPART_JWT_SECRETS as the key `default`. Plus the configuration errors of RAMPART_JWT_SECRETS.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SessionKeyRing, signSession } from '@rampart/core/tokens';
import {
  type Account,
  createPgDatabase,
  freePort,
  PASSWORD,
  type PgDatabase,
  send,
  signup,
  testServerEnv,
} from '@rampart/testing';
import { migratedDataDir } from '@rampart/testing/datadir';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRampart, type Rampart } from '../src/app.js';
import { isEnvAllowed } from '../src/jobs/values.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { resolveKeyMaterial } from '../src/platform/keys.js';
import { MemoryMailer } from '../src/platform/mailer.js';
import { ENGINES } from './helpers.js';
import { startModelStub, useStubProvider, visitor } from './widget-support.js';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const b64 = (k: Buffer) => k.toString('base64');
const SHOP = 'https://shop.example.com';
const SECRET_TEXTS = [OLD, NEW].flatMap((k) => [
  k.toString('base64'),
  k.toString('base64url'),
  k.toString('hex'),
]);

const kid = (jwt: string) => decodeProtectedHeader(jwt).kid;

/** A session signed by hand: HS256 with `key`, any header fields (e.g. a kid of our choosing). */
function forge(userId: string, key: Buffer, header: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = {
    iss: 'rampart',
    aud: 'rampart:dashboard',
    sub: userId,
    gen: 0,
    amr: ['pwd'],
    typ: 'session',
    iat: now,
    exp: now + 600,
    jti: randomBytes(16).toString('base64url'),
  };
  const input = `${enc({ alg: 'HS256', typ: 'JWT', ...header })}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

interface Node {
  baseUrl: string;
  rampart: Rampart;
  close(): Promise<void>;
}

describe.each(ENGINES)('rolling the JWT key on a restarted server (%s)', (engine) => {
  let dataDir: string;
  let pg: PgDatabase | undefined;
  let port: number;
  const logs: string[] = [];
  let stub: Awaited<ReturnType<typeof startModelStub>>;

  /** One node on this suite's database (PGlite files in dataDir, or the PostgreSQL database) with these keys. */
  async function startNode(jwt: Record<string, string>, nodePort = port): Promise<Node> {
    const config = loadConfig({
      ...testServerEnv('test1', dataDir),
      RAMPART_JWT_SECRET: '', // unset (empty counts as unset); each step says which variable it uses
      LOG_LEVEL: 'info',
      RAMPART_JOB_RUNNER: 'off',
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...(pg ? { DATABASE_URL: pg.url } : {}),
      ...jwt,
      PORT: String(nodePort),
    });
    const rampart = await createRampart({
      config,
      mailer: new MemoryMailer(),
      logDestination: new Writable({
        write(chunk, _enc, cb) {
          logs.push(String(chunk));
          cb();
        },
      }),
    });
    try {
      await rampart.app.listen({ port: nodePort, host: '127.0.0.1' });
    } catch (err) {
      await rampart.close();
      throw err;
    }
    return { baseUrl: `http://127.0.0.1:${nodePort}`, rampart, close: () => rampart.close() };
  }

  /** Runs one step of the runbook: a node with these keys, `fn`, then the node stops (PGlite flushes). */
  async function step<T>(jwt: Record<string, string>, fn: (node: Node) => Promise<T>): Promise<T> {
    const node = await startNode(jwt);
    try {
      return await fn(node);
    } finally {
      await node.close();
    }
  }

  const me = async (baseUrl: string, token: string) =>
    (await send(baseUrl, 'GET', '/api/me', { token })).status;

  /** Signs in with a cookie session: the session JWT and the refresh token. */
  async function signIn(baseUrl: string, email: string) {
    const r = await send<{ token: string }>(baseUrl, 'POST', '/api/auth/login', {
      body: { email, password: PASSWORD, session: 'cookie' },
    });
    expect(r.status).toBe(200);
    const cookie = /rampart_refresh=(rrt_[A-Za-z0-9_-]+);/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    if (!cookie) throw new Error('no refresh cookie');
    return { token: r.body.token, cookie };
  }

  /** Trades the refresh cookie for a new session JWT, as the dashboard does on a reload. */
  async function refresh(baseUrl: string, cookie: string) {
    const r = await send<{ token: string }>(baseUrl, 'POST', '/api/auth/session', {
      headers: { origin: baseUrl, cookie: `rampart_refresh=${cookie}` },
    });
    const next = /rampart_refresh=(rrt_[A-Za-z0-9_-]+);/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    return { status: r.status, token: r.body.token, cookie: next };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rampart-jwt-roll-'));
    // PGlite: a migrated copy instead of ~5 s of initdb; every step below still restarts on these files.
    if (engine === 'pglite') migratedDataDir(dataDir);
    if (engine === 'postgres') pg = await createPgDatabase();
    port = await freePort();
    stub = await startModelStub();
  });
  afterAll(async () => {
    await stub?.close();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sessions, refresh cookies and visitor tokens survive every step, and old ones end when the old key goes', async () => {
    // Before: one secret in RAMPART_JWT_SECRET, as every deployment had it.
    const before = await step({ RAMPART_JWT_SECRET: b64(OLD) }, async ({ baseUrl }) => {
      const owner: Account = await signup(baseUrl);
      // A session exactly as signed before key ids existed: no kid header.
      const legacy = await signSession(OLD, { userId: owner.userId, generation: 0, totp: false });
      expect(kid(legacy)).toBeUndefined();
      expect(await me(baseUrl, legacy)).toBe(200);
      // RAMPART_JWT_SECRET is the key "default": what it signs now names it.
      expect(kid(owner.token)).toBe('default');
      const cookieSession = await signIn(baseUrl, owner.email);
      await useStubProvider(baseUrl, owner, stub.origin, ['chat-model']);
      const w = await send<{ id: string }>(baseUrl, 'POST', `/api/orgs/${owner.orgId}/widgets`, {
        token: owner.token,
        body: {
          name: 'w',
          allowedOrigins: [SHOP],
          model: 'chat-model',
          limits: { perIpPerMinute: 1000, perWidgetPerMinute: 1000 },
        },
      });
      expect(w.status).toBe(201);
      const v = visitor(baseUrl, w.body.id, SHOP);
      const visitorToken = (await v.session()).body.visitorToken;
      expect((await v.message(visitorToken, 'hello')).status).toBe(200);
      return { owner, legacy, cookie: cookieSession.cookie, widgetId: w.body.id, visitorToken };
    });
    const { owner, legacy, widgetId, visitorToken: oldVisitor } = before;
    let { cookie } = before;
    const oldSession = owner.token;
    const chat = (baseUrl: string, token: string) => visitor(baseUrl, widgetId, SHOP).message(token, 'hi');

    // Step 1: the same secret moved into RAMPART_JWT_SECRETS as "default", and the new key added second.
    await step({ RAMPART_JWT_SECRETS: `default:${b64(OLD)},new:${b64(NEW)}` }, async ({ baseUrl }) => {
      expect(await me(baseUrl, oldSession)).toBe(200);
      expect(await me(baseUrl, legacy)).toBe(200);
      expect((await chat(baseUrl, oldVisitor)).status).toBe(200);
      // The old key still signs.
      expect(kid((await signIn(baseUrl, owner.email)).token)).toBe('default');
    });

    // Step 2: the new key moved first. New sessions and visitor tokens are signed by it; old ones still verify.
    const moved = `new:${b64(NEW)},default:${b64(OLD)}`;
    const after = await step({ RAMPART_JWT_SECRETS: moved }, async ({ baseUrl }) => {
      expect(await me(baseUrl, oldSession)).toBe(200);
      expect(await me(baseUrl, legacy)).toBe(200);
      expect((await chat(baseUrl, oldVisitor)).status).toBe(200);
      const fresh = await signIn(baseUrl, owner.email);
      expect(kid(fresh.token)).toBe('new');
      expect(await me(baseUrl, fresh.token)).toBe(200);
      const r = await refresh(baseUrl, cookie);
      expect(r.status).toBe(200);
      expect(kid(r.token)).toBe('new');
      cookie = r.cookie as string;
      const v = visitor(baseUrl, widgetId, SHOP);
      const newVisitor = (await v.session()).body.visitorToken;
      expect((await chat(baseUrl, newVisitor)).status).toBe(200);
      // A kid the ring does not have is refused, even over a signature by a key it does have.
      expect(await me(baseUrl, forge(owner.userId, NEW, { kid: 'other' }))).toBe(401);
      const stranger = SessionKeyRing.fromKeys([{ id: 'other', key: randomBytes(32) }]);
      expect(
        await me(baseUrl, await signSession(stranger, { userId: owner.userId, generation: 0, totp: false })),
      ).toBe(401);
      // A known kid over another key's signature is refused too: no fallback to the key that would match.
      expect(await me(baseUrl, forge(owner.userId, NEW, { kid: 'default' }))).toBe(401);
      expect(await me(baseUrl, forge(owner.userId, NEW, { kid: 'new' }))).toBe(200); // control
      return { session: fresh.token, visitorToken: newVisitor };
    });

    // Step 3: the old key removed. What it signed is refused; what the new key signed, and the refresh cookie
    // (a random token in the database, not signed by the JWT key), keep working: nobody with a cookie is signed out.
    await step({ RAMPART_JWT_SECRETS: `new:${b64(NEW)}` }, async ({ baseUrl }) => {
      expect(await me(baseUrl, oldSession)).toBe(401);
      expect(await me(baseUrl, legacy)).toBe(401);
      const refused = await chat(baseUrl, oldVisitor);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('unauthorized');
      expect(await me(baseUrl, after.session)).toBe(200);
      expect((await chat(baseUrl, after.visitorToken)).status).toBe(200);
      const r = await refresh(baseUrl, cookie);
      expect(r.status).toBe(200);
      expect(kid(r.token)).toBe('new');
      expect(await me(baseUrl, r.token)).toBe(200);
    });

    for (const line of logs) for (const secret of SECRET_TEXTS) expect(line).not.toContain(secret);
    // PGlite on disk applies every migration on its first start: about 30 s on a busy 2-core machine.
  }, 180_000);

  it('a secret moved under another id than "default" no longer verifies sessions without kid', async () => {
    await step({ RAMPART_JWT_SECRETS: `main:${b64(OLD)}` }, async ({ baseUrl }) => {
      const owner = await signup(baseUrl);
      expect(kid(owner.token)).toBe('main');
      expect(await me(baseUrl, owner.token)).toBe(200);
      const legacy = await signSession(OLD, { userId: owner.userId, generation: 0, totp: false });
      expect(await me(baseUrl, legacy)).toBe(401);
    });
  }, 180_000);

  it.skipIf(engine !== 'postgres')(
    'while nodes are being rolled, a node that has the new key second verifies sessions another node signed with it first',
    async () => {
      const ahead = await startNode({ RAMPART_JWT_SECRETS: `new:${b64(NEW)},default:${b64(OLD)}` });
      const behind = await startNode(
        { RAMPART_JWT_SECRETS: `default:${b64(OLD)},new:${b64(NEW)}` },
        await freePort(),
      );
      try {
        const owner = await signup(ahead.baseUrl);
        expect(kid(owner.token)).toBe('new');
        expect(await me(behind.baseUrl, owner.token)).toBe(200);
        const other = await signup(behind.baseUrl);
        expect(kid(other.token)).toBe('default');
        expect(await me(ahead.baseUrl, other.token)).toBe(200);
      } finally {
        await Promise.all([ahead.close(), behind.close()]);
      }
    },
  );
});

describe('RAMPART_JWT_SECRETS configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      resolveKeyMaterial(
        loadConfig({ NODE_ENV: 'production', RAMPART_MASTER_KEYS: `k1:${b64(OLD)}`, ...env }),
      );
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = `${(err as ConfigError).message}\n${(err as ConfigError).problems.join('\n')}`;
      for (const secret of SECRET_TEXTS) expect(text).not.toContain(secret);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  };

  it('the first key signs, every key verifies, in the order given; enough on its own in production', () => {
    const keys = resolveKeyMaterial(
      loadConfig({
        NODE_ENV: 'production',
        RAMPART_MASTER_KEYS: `k1:${b64(OLD)}`,
        RAMPART_JWT_SECRETS: ` k2:${NEW.toString('hex')} , k1:${OLD.toString('base64url')} `,
      }),
    );
    expect(keys.jwtKeys.primaryId).toBe('k2');
    expect(keys.jwtKeys.ids).toEqual(['k2', 'k1']);
    expect(keys.jwtKeys.keyFor('k1')?.equals(OLD)).toBe(true);
    expect(keys.jwtKeys.keyFor('k2')?.equals(NEW)).toBe(true);
    expect(keys.warnings).toEqual([]);
  });

  it('RAMPART_JWT_SECRET alone is the key "default"', () => {
    const keys = resolveKeyMaterial(
      loadConfig({
        NODE_ENV: 'production',
        RAMPART_MASTER_KEYS: `k1:${b64(OLD)}`,
        RAMPART_JWT_SECRET: b64(NEW),
      }),
    );
    expect(keys.jwtKeys.ids).toEqual(['default']);
    expect(keys.jwtKeys.keyFor('default')?.equals(NEW)).toBe(true);
  });

  it('both variables at once are refused, naming both and neither secret', () => {
    const p = problems({ RAMPART_JWT_SECRET: b64(OLD), RAMPART_JWT_SECRETS: `new:${b64(NEW)}` });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /^RAMPART_JWT_SECRETS: set either RAMPART_JWT_SECRETS or RAMPART_JWT_SECRET, not both/,
    );
  });

  it('production without either names RAMPART_JWT_SECRET and mentions the ring', () => {
    const p = problems({});
    expect(p).toEqual([expect.stringMatching(/^RAMPART_JWT_SECRET: required .*RAMPART_JWT_SECRETS/)]);
  });

  const other = randomBytes(32);
  it.each<[string, string, RegExp]>([
    [
      'a duplicate id',
      `a:${b64(OLD)},b:${b64(NEW)},a:${b64(other)}`,
      /^entry 3: key id "a" is already used by entry 1$/,
    ],
    [
      'the same secret twice',
      `a:${b64(OLD)},b:${OLD.toString('hex')}`,
      /^entry 2: key material duplicates entry 1$/,
    ],
    ['an entry without id', `a:${b64(OLD)},${b64(NEW)}`, /^entry 2: expected id:secret$/],
    ['an id with a bad character', `a.b:${b64(OLD)}`, /^entry 1: key id must be 1-32 characters/],
    ['an empty id', `:${b64(OLD)}`, /^entry 1: key id must be/],
    ['a 33-character id', `${'x'.repeat(33)}:${b64(OLD)}`, /^entry 1: key id must be/],
    [
      'a short secret',
      `a:${b64(OLD)},b:${b64(OLD.subarray(0, 31))}`,
      /^entry 2: the secret must encode at least 32/,
    ],
    [
      'a passphrase',
      'a:correct horse battery staple and more words here',
      /^entry 1: the secret must encode/,
    ],
    ['a stray comma', `a:${b64(OLD)},,b:${b64(NEW)}`, /^entry 2: empty entry/],
  ])('refuses %s, naming the entry', (_name, spec, message) => {
    const p = problems({ RAMPART_JWT_SECRETS: spec });
    expect(p).toHaveLength(1);
    expect(p[0]?.startsWith('RAMPART_JWT_SECRETS: ')).toBe(true);
    expect(p[0]?.slice('RAMPART_JWT_SECRETS: '.length)).toMatch(message);
  });

  it('is a server setting: a job env allow-list as wide as *:RAMPART_ never resolves it', () => {
    const allow = [{ org: '*', prefix: 'RAMPART_' }];
    const org = '6f9c1d2e-0000-4000-8000-000000000001';
    expect(isEnvAllowed('RAMPART_SOMETHING_ELSE', allow, org)).toBe(true); // control
    expect(isEnvAllowed('RAMPART_JWT_SECRETS', allow, org)).toBe(false);
    expect(isEnvAllowed('RAMPART_JWT_SECRET', allow, org)).toBe(false);
  });

  it('a secret pasted where the id goes is not echoed', () => {
    const p = problems({ RAMPART_JWT_SECRETS: `${b64(OLD)}:${b64(NEW)}` });
    expect(p[0]).toMatch(/^RAMPART_JWT_SECRETS: entry 1: key id must be/);
  });
});
