/**
 * WebSocket upgrades through the real HTTP stack (raw TCP against a listening server): once the agent hub
 * listens for `upgrade`, Node hands it every upgrade request's socket, so each one it does not switch must be
 * answered and destroyed. A flood of upgrades to another path, or of unauthenticated `/agent` handshakes held
 * open by a slow database, must leave the server's descriptor count where it was and /healthz answering.
 */
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

const TIMEOUT_MS = 300;
const PER_IP = 5;

/** Open descriptors of this process (the server runs in it). */
const fds = () => readdirSync('/proc/self/fd').length;

interface Probe {
  socket: Socket;
  /** Everything the server wrote. */
  data: () => string;
  /** Resolves when the server has ended (or reset) its side. */
  ended: Promise<void>;
}

/** A raw client that sends one upgrade request and never closes its side on its own (allowHalfOpen). */
function upgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    const ended = new Promise<void>((done) => {
      socket.on('end', done);
      socket.on('close', done);
    });
    socket.on('data', (d) => {
      data += String(d);
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
      );
      resolve({ socket, data: () => data, ended });
    });
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

/** Waits until the descriptor count is back to at most `limit` (closing is asynchronous). */
async function settleTo(limit: number): Promise<number> {
  for (let i = 0; i < 100 && fds() > limit; i++) await new Promise((r) => setTimeout(r, 20));
  return fds();
}

describe('upgrade floods through the real HTTP stack', () => {
  let srv: TestServer;
  let port: number;
  let baseline: number;

  beforeAll(async () => {
    srv = await startTestServer('pglite', {
      RAMPART_AGENT_HANDSHAKE_TIMEOUT_MS: String(TIMEOUT_MS),
      RAMPART_AGENT_HANDSHAKES_PER_IP: String(PER_IP),
    });
    port = Number(new URL(srv.baseUrl).port);
    expect((await fetch(`${srv.baseUrl}/healthz`)).status).toBe(200);
    baseline = fds();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('socket exhaustion: 500 Connection: Upgrade requests to /healthz are answered and closed, descriptors return to baseline', async () => {
    const probes = await Promise.all(Array.from({ length: 500 }, () => upgrade(port, '/healthz')));
    // Every one is answered and closed by the server, though the clients never close their side.
    const all = await within(Promise.all(probes.map((p) => p.ended)), 5_000);
    const answered = probes.filter((p) => p.data().startsWith('HTTP/1.1 404')).length;
    for (const p of probes) p.socket.destroy();
    // Measured after the clients let go too: a server that never closed its side still holds one each.
    const over = (await settleTo(baseline + 5)) - baseline;
    expect({ closedByServer: all !== 'timeout', answered, over: over <= 5 ? 'baseline' : over }).toEqual({
      closedByServer: true,
      answered: 500,
      over: 'baseline',
    });
    expect(probes[0]?.data()).toContain('"error":"not_found"');
    expect((await fetch(`${srv.baseUrl}/healthz`)).status).toBe(200);
  });

  it('unauthenticated /agent handshakes stuck on a slow database: per-IP cap (429) and handshake timeout', async () => {
    // Hold the (single-connection) database so every token lookup waits: the handshakes cannot complete.
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held = srv.rampart.services.db.tx({ orgId: null }, async (q) => {
      await q.query('SELECT 1');
      await gate;
    });
    try {
      const token = `ag_${'A'.repeat(43)}`;
      const started = Date.now();
      const probes = await Promise.all(
        Array.from({ length: 40 }, () => upgrade(port, '/agent', { authorization: `Bearer ${token}` })),
      );
      expect(await within(Promise.all(probes.map((p) => p.ended)), 5_000)).not.toBe('timeout');
      const elapsed = Date.now() - started;
      const capped = probes.filter((p) => p.data().startsWith('HTTP/1.1 429'));
      const dropped = probes.filter((p) => p.data() === '');
      // Only PER_IP wait for the database; the rest are refused at once, and the waiting ones are dropped at
      // the handshake timeout rather than held until the database answers.
      expect(capped.length).toBe(40 - PER_IP);
      expect(capped[0]?.data()).toContain('"error":"rate_limited"');
      expect(dropped.length).toBe(PER_IP);
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + 2_000);
      for (const p of probes) p.socket.destroy();
    } finally {
      release();
      await held;
    }
    expect(await settleTo(baseline + 5)).toBeLessThanOrEqual(baseline + 5);
    expect((await fetch(`${srv.baseUrl}/healthz`)).status).toBe(200);
    // The slots are free again: a bad token is answered 401 and the socket closed, not held.
    const after = await upgrade(port, '/agent', { authorization: `Bearer ag_${'B'.repeat(43)}` });
    expect(await within(after.ended, 5_000)).not.toBe('timeout');
    expect(after.data()).toMatch(/^HTTP\/1\.1 401/);
    after.socket.destroy();
    expect(await settleTo(baseline + 5)).toBeLessThanOrEqual(baseline + 5);
  });
});
