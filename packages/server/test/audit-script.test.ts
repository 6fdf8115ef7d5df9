/**
 * `npm run audit` (scripts/audit.mjs) against a stand-in registry: a registry without the audit endpoint (a
 * mirror answering 405) is reported as NOT AUDITED with exit 2, never as a pass; a clean answer exits 0; an
 * advisory for a runtime dependency is listed and exits 1. Real npm, real lockfile.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let server: Server | undefined;

/** A registry whose advisories endpoint gives `answer`; everything else is 404. */
async function registry(answer: { status: number; body?: unknown }): Promise<string> {
  server = createServer((req, res) => {
    req.resume().on('end', () => {
      if (req.method === 'POST' && req.url === '/-/npm/v1/security/advisories/bulk') {
        res.writeHead(answer.status, { 'content-type': 'application/json', allow: 'GET,HEAD' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
        return;
      }
      res.writeHead(404).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function audit(url: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['scripts/audit.mjs', `--registry=${url}`], { cwd: ROOT });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out };
}

afterEach(() => {
  server?.close();
  server = undefined;
});

describe('npm run audit', () => {
  it('a registry without the audit endpoint (405): NOT AUDITED, exit 2', async () => {
    const r = await audit(await registry({ status: 405 }));
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain('NOT AUDITED');
    expect(r.out).toContain('has no audit endpoint: it answered 405 Method Not Allowed');
    expect(r.out).toContain('No dependency was checked');
  });

  it('no advisories: exit 0, and says how many runtime dependencies were checked', async () => {
    const r = await audit(await registry({ status: 200, body: {} }));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/no known vulnerabilities in \d+ runtime dependencies/);
  });

  it('an advisory for a runtime dependency: listed, exit 1', async () => {
    const advisory = {
      id: 1,
      url: 'https://github.com/advisories/GHSA-xxxx-test',
      title: 'Test advisory',
      severity: 'high',
      vulnerable_versions: '<999.0.0',
      cwe: [],
      cvss: { score: 0, vectorString: null },
    };
    const r = await audit(await registry({ status: 200, body: { commander: [advisory] } }));
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('high     commander');
    expect(r.out).toContain('Test advisory (https://github.com/advisories/GHSA-xxxx-test)');
    expect(r.out).toContain('1 vulnerable package(s): 1 high');
  });
});
