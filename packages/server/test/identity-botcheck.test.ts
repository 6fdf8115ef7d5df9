/**
 * Bot protection (issue 5: Cloudflare Turnstile on signup, login and forgot-password, verified server-side,
 * failing closed on any error or timeout). A local verifier on 127.0.0.1 speaks the real siteverify protocol
 * (form-encoded `secret`, `response`, `remoteip`; JSON `{"success": bool, "error-codes": [...]}`) and can be
 * told to refuse, fail, hang or redirect. Not engine-specific: PGlite only.
 */
import { once } from 'node:events';
import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, client, mailsTo, PASSWORD, uniqueEmail, waitForMail } from '@rampart/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/platform/config.js';
import { startTestServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const SECRET = 'turnstile-test-secret-0x5f3a';
const TIMEOUT_MS = 300;

type Mode = 'pass' | 'refuse' | 'error500' | 'hang' | 'stall-body' | 'not-json' | 'string-true' | 'redirect';

interface Received {
  contentType: string | undefined;
  form: URLSearchParams;
}

/** A siteverify look-alike. `mode` decides the next answers; `received` records every request. */
function startVerifier() {
  const state = { mode: 'pass' as Mode, received: [] as Received[] };
  const server: HttpServer = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    state.received.push({ contentType: req.headers['content-type'], form: new URLSearchParams(raw) });
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    switch (state.mode) {
      case 'pass':
        return json(200, { success: true, 'error-codes': [], hostname: 'example.test' });
      case 'refuse':
        return json(200, { success: false, 'error-codes': ['invalid-input-response'] });
      case 'error500':
        return json(500, { success: true, 'error-codes': ['internal-error'] });
      case 'hang':
        return; // never answers; the server's timeout must refuse
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"success": tr');
        return; // headers and half a body, then nothing
      case 'not-json':
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>success: true</html>');
      case 'string-true':
        return json(200, { success: 'true', 'error-codes': [] });
      case 'redirect':
        return res.writeHead(302, { location: '/elsewhere-that-says-yes' }).end();
    }
  });
  return { state, server };
}

describe('Turnstile bot check (fail closed)', () => {
  let verifier: ReturnType<typeof startVerifier>;
  let srv: Server;
  let c: Client;
  beforeAll(async () => {
    verifier = startVerifier();
    verifier.server.listen(0, '127.0.0.1');
    await once(verifier.server, 'listening');
    const { port } = verifier.server.address() as AddressInfo;
    srv = await startTestServer('pglite', {
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_TURNSTILE_SECRET: SECRET,
      RAMPART_TURNSTILE_VERIFY_URL: `http://127.0.0.1:${port}/turnstile/v0/siteverify`,
      RAMPART_TURNSTILE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    c = client(srv.baseUrl);
  });
  afterAll(async () => {
    await srv?.close();
    verifier.server.closeAllConnections();
    verifier.server.close();
  });
  beforeEach(() => {
    verifier.state.mode = 'pass';
    verifier.state.received.length = 0;
  });

  /** An existing account, created while the verifier says yes. */
  let known: string | undefined;
  async function knownEmail(): Promise<string> {
    if (known) return known;
    const email = uniqueEmail('bot-known');
    const r = await c.post('/api/auth/signup', { email, password: PASSWORD, orgName: 'B', botToken: 'tok' });
    expect(r.status).toBe(201);
    known = email;
    return email;
  }

  const ROUTES = {
    signup: (botToken?: string) =>
      c.post('/api/auth/signup', {
        email: uniqueEmail('bot'),
        password: PASSWORD,
        orgName: 'B',
        ...(botToken === undefined ? {} : { botToken }),
      }),
    login: async (botToken?: string) =>
      c.post('/api/auth/login', {
        email: await knownEmail(),
        password: PASSWORD,
        ...(botToken === undefined ? {} : { botToken }),
      }),
    'forgot-password': async (botToken?: string) =>
      c.post('/api/auth/forgot-password', {
        email: await knownEmail(),
        ...(botToken === undefined ? {} : { botToken }),
      }),
  } as const;
  const SUCCESS = { signup: 201, login: 200, 'forgot-password': 202 } as const;
  const routeNames = Object.keys(ROUTES) as (keyof typeof ROUTES)[];

  function expectRefused(r: { status: number; body: Record<string, unknown> }) {
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('bot_check_failed');
  }

  describe.each(routeNames)('%s', (route) => {
    it('a missing botToken is 403 bot_check_failed, without asking the verifier', async () => {
      await knownEmail();
      verifier.state.received.length = 0;
      expectRefused(await ROUTES[route]());
      expect(verifier.state.received).toHaveLength(0);
    });

    it('the verifier says yes -> the request proceeds; it received the configured secret, token and IP', async () => {
      await knownEmail();
      verifier.state.received.length = 0;
      const r = await ROUTES[route]('XXXX.DUMMY.TOKEN.pass');
      expect(r.status).toBe(SUCCESS[route]);
      expect(verifier.state.received).toHaveLength(1);
      const got = verifier.state.received[0];
      expect(got?.contentType).toMatch(/^application\/x-www-form-urlencoded/);
      expect(got?.form.get('secret')).toBe(SECRET);
      expect(got?.form.get('response')).toBe('XXXX.DUMMY.TOKEN.pass');
      expect(got?.form.get('remoteip')).toBe(c.ip);
    });

    it.each([
      ['the verifier says no', 'refuse'],
      ['the verifier answers 500 (even with success: true)', 'error500'],
      ['the verifier hangs past the timeout', 'hang'],
      ['the verifier sends headers, then stalls the body', 'stall-body'],
      ['the verifier answers something that is not JSON', 'not-json'],
      ['the verifier answers success: "true" (a string)', 'string-true'],
      ['the verifier redirects', 'redirect'],
    ] as const)('%s -> 403 bot_check_failed', async (_name, mode) => {
      await knownEmail();
      verifier.state.mode = mode;
      const started = Date.now();
      expectRefused(await ROUTES[route]('XXXX.DUMMY.TOKEN'));
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 3_000);
    });
  });

  it('a refused signup stores nothing; a refused forgot-password sends no mail', async () => {
    verifier.state.mode = 'refuse';
    const email = uniqueEmail('bot-nothing');
    expectRefused(
      await c.post('/api/auth/signup', { email, password: PASSWORD, orgName: 'B', botToken: 't' }),
    );
    const target = await knownEmail();
    const before = mailsTo(srv.mailer, target).length;
    expectRefused(await c.post('/api/auth/forgot-password', { email: target, botToken: 't' }));
    verifier.state.mode = 'pass';
    const r = await c.post('/api/auth/signup', { email, password: PASSWORD, orgName: 'B', botToken: 't' });
    expect(r.status).toBe(201); // not 409: the refused attempt left no account behind
    await sleep(200);
    expect(mailsTo(srv.mailer, target)).toHaveLength(before);
    expect((await c.post('/api/auth/forgot-password', { email: target, botToken: 't' })).status).toBe(202);
    await waitForMail(srv.mailer, target, before + 1);
  });
});

describe('Turnstile configuration', () => {
  it('the verifier timeout defaults to 5 s (tests shorten it to keep the suite fast)', () => {
    expect(loadConfig({}).RAMPART_TURNSTILE_TIMEOUT_MS).toBe(5_000);
    expect(loadConfig({ RAMPART_TURNSTILE_TIMEOUT_MS: '300' }).RAMPART_TURNSTILE_TIMEOUT_MS).toBe(300);
    expect(() => loadConfig({ RAMPART_TURNSTILE_TIMEOUT_MS: '0' })).toThrow(/RAMPART_TURNSTILE_TIMEOUT_MS/);
  });
});

describe('Turnstile bot check with an unreachable verifier', () => {
  let srv: Server;
  beforeAll(async () => {
    // A port that was just free and is now closed: connections are refused.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    srv = await startTestServer('pglite', {
      RAMPART_TRUST_PROXY: '127.0.0.1',
      RAMPART_TURNSTILE_SECRET: SECRET,
      RAMPART_TURNSTILE_VERIFY_URL: `http://127.0.0.1:${port}/siteverify`,
    });
  });
  afterAll(() => srv?.close());

  it('signup, login and forgot-password all fail closed with 403 bot_check_failed', async () => {
    const c = client(srv.baseUrl);
    const email = uniqueEmail('unreachable');
    for (const r of [
      await c.post('/api/auth/signup', { email, password: PASSWORD, orgName: 'U', botToken: 'tok' }),
      await c.post('/api/auth/login', { email, password: PASSWORD, botToken: 'tok' }),
      await c.post('/api/auth/forgot-password', { email, botToken: 'tok' }),
    ]) {
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('bot_check_failed');
    }
  });
});
