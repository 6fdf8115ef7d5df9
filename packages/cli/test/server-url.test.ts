/**
 * `rampart mcp` and `rampart agent` against the server URL they are given (review findings 10 and Low): plain
 * http to a host that is not loopback would send the API key or agent token in clear, so both refuse it unless
 * RAMPART_ALLOW_INSECURE_HTTP=1; and `rampart mcp` keeps a path prefix (`https://host/rampart`) instead of
 * calling `https://host/mcp`. Runs the built CLI (packages/cli/dist/bin.js) as a real process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { api, BIN, cleanEnv, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { endpointUrl, serverUrl } from '../src/skills/http.js';

describe('server URLs', () => {
  it('keep a path prefix', () => {
    expect(endpointUrl(new URL('https://h.example/rampart'), 'mcp').href).toBe(
      'https://h.example/rampart/mcp',
    );
    expect(endpointUrl(new URL('https://h.example/rampart/?x=1'), '/mcp').href).toBe(
      'https://h.example/rampart/mcp',
    );
    expect(endpointUrl(new URL('https://h.example'), 'mcp').href).toBe('https://h.example/mcp');
  });
  it('plain http only on loopback, or with the explicit override', () => {
    expect(() => serverUrl('http://rampart.example.com')).toThrow(/https/);
    expect(() => serverUrl('http://10.0.0.5:8787')).toThrow(/RAMPART_ALLOW_INSECURE_HTTP/);
    expect(() => serverUrl('ftp://rampart.example.com')).toThrow(/https/);
    for (const ok of [
      'https://rampart.example.com',
      'http://127.0.0.1:1',
      'http://127.1.2.3',
      'http://[::1]:2',
    ])
      expect(serverUrl(ok).href).toBe(new URL(ok).href);
    expect(serverUrl('http://10.0.0.5', { allowInsecureHttp: true }).hostname).toBe('10.0.0.5');
  });
});

/** This machine's first non-loopback IPv4 address: a host the CLI must treat as "over a network". */
const LAN = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}
const running = new Set<ChildProcess>();
function run(args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  void exited.then(() => running.delete(child));
  return { child, stderr: () => stderr, exited };
}
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);

describe.skipIf(!LAN)('credentials in clear to a non-loopback http server', () => {
  let listener: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    listener = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(503).end();
    });
    listener.on('upgrade', (req: IncomingMessage, socket) => {
      seen.push(`UPGRADE ${req.url} ${req.headers.authorization ?? ''}`);
      socket.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, LAN, r));
    url = `http://${LAN}:${(listener.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of running) c.kill('SIGKILL');
    await new Promise((r) => listener.close(r));
  });

  it('rampart mcp --server http://<LAN host> refuses (exit 2) and never sends the API key', async () => {
    const r = run(['mcp', '--server', url], cleanEnv({ RAMPART_API_KEY: 'rk_live_cleartextprobe' }));
    expect(await within(r.exited, 15_000)).toBe(2);
    expect(r.stderr()).toMatch(/https.*RAMPART_ALLOW_INSECURE_HTTP/);
    expect(seen.filter((s) => s.includes('cleartextprobe'))).toEqual([]);
  });

  it('rampart agent --server http://<LAN host> refuses (exit 2) and never sends the agent token', async () => {
    const r = run(
      [
        'agent',
        '--server',
        url,
        '--token',
        `ag_${'c'.repeat(43)}`,
        '--database-url',
        'postgres://reader@127.0.0.1:1/none',
      ],
      cleanEnv(),
    );
    expect(await within(r.exited, 15_000)).toBe(2);
    expect(r.stderr()).toMatch(/https.*RAMPART_ALLOW_INSECURE_HTTP/);
    expect(seen.filter((s) => s.includes('c'.repeat(43)))).toEqual([]);
  });

  it('RAMPART_ALLOW_INSECURE_HTTP=1 is the explicit override', async () => {
    const r = run(
      ['mcp', '--server', url],
      cleanEnv({ RAMPART_API_KEY: 'rk_live_overrideprobe', RAMPART_ALLOW_INSECURE_HTTP: '1' }),
    );
    r.child.stdin?.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`,
    );
    for (let i = 0; i < 150 && !seen.some((s) => s.includes('overrideprobe')); i++)
      await new Promise((res) => setTimeout(res, 100));
    r.child.kill('SIGKILL');
    expect(seen.some((s) => s.startsWith('POST /mcp ') && s.includes('overrideprobe'))).toBe(true);
  });
});

describe('rampart mcp behind a path prefix', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let proxy: Server;
  let apiKey: string;
  const paths: string[] = [];
  beforeAll(async () => {
    srv = await startTestServer('pglite');
    const owner = await signup(srv.baseUrl);
    apiKey = (
      await api(srv.baseUrl, owner.token).post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, {
        name: 'mcp',
      })
    ).body.key;
    const upstream = new URL(srv.baseUrl);
    // A reverse proxy that serves Rampart under /rampart only, as a shared host would.
    proxy = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (!req.url?.startsWith('/rampart/')) {
        res.writeHead(404).end();
        return;
      }
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url.slice('/rampart'.length),
          headers: req.headers,
        },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise((r) => proxy?.close(r));
    await srv?.close();
  });

  it('--server https://host/prefix keeps the prefix: the tools are listed through it', async () => {
    const client = new Client({ name: 'prefix-test', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--server', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/rampart`],
        env: cleanEnv({ RAMPART_API_KEY: apiKey }) as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('query_table');
      expect(paths.every((p) => p === '/rampart/mcp')).toBe(true);
    } finally {
      await client.close();
    }
  });
});
