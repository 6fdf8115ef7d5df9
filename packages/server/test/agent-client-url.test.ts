/**
 * `rampart agent --server https://host/prefix` must reach the hub under the prefix the server is mounted at
 * (found while fixing the CLI's server URLs for review finding 10: the agent built `new URL('/agent', server)`,
 * which dropped the prefix, so an agent behind a path-routing proxy never connected).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runAgent } from '../src/dbaccess/agent-client.js';

const servers: Array<{ close: () => void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A listener that records the first upgrade request's path and refuses it. */
async function upgradeRecorder(): Promise<{ base: string; firstPath: Promise<string> }> {
  let seen: (p: string) => void = () => {};
  const firstPath = new Promise<string>((r) => {
    seen = r;
  });
  const srv = createServer();
  srv.on('upgrade', (req: IncomingMessage, socket) => {
    socket.on('error', () => {}); // the agent's stop() may reset the connection first
    seen(req.url ?? '');
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push({ close: () => srv.close() });
  return { base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, firstPath };
}

describe('agent server URL', () => {
  it.each([
    ['/rampart', '/rampart/agent'],
    ['/rampart/', '/rampart/agent'],
    ['', '/agent'],
  ])('a server mounted under %j is dialled at %s (the path prefix is kept)', async (prefix, expected) => {
    const { base, firstPath } = await upgradeRecorder();
    const agent = runAgent({
      server: `${base}${prefix}?ignored=1`,
      token: 'ag_test_token',
      databaseUrl: 'postgres://unused@127.0.0.1:1/none',
      minBackoffMs: 60_000,
    });
    try {
      expect(await firstPath).toBe(expected);
    } finally {
      await agent.stop();
    }
  });
});
