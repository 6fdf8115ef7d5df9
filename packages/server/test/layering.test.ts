// Layering rule (issue 21): packages/server/src/platform/ and db/ are the shared base and import no domain;
// a domain imports another domain only through the short allow-list below; packages/core stays free of I/O
// and databases. A pure source scan: no server, no database, well under a second.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const serverSrc = join(root, 'packages/server/src');
const coreSrc = join(root, 'packages/core/src');

const DOMAINS = [
  'identity',
  'tenancy',
  'gateway',
  'jobs',
  'widget',
  'dbaccess',
  'skills',
  'secrets',
  'mail',
  'web',
];
const BASE = ['platform', 'db'];

/**
 * Domain -> domain imports that are allowed, each limited to the modules named. Keep it short: a new entry needs
 * a reason, and moving shared code into platform/ is usually the better fix.
 */
const ALLOWED: { from: string; to: string; modules: string[]; why: string }[] = [
  {
    from: '*',
    to: 'identity',
    modules: ['services.ts', 'principal.ts', 'authenticate.ts'],
    why: 'every route authenticates through IdentityServices and reads the principal/scopes it yields',
  },
  {
    from: '*',
    to: 'mail',
    modules: ['outbox.ts', 'templates.ts'],
    why: 'mail is sent by queueing it in the outbox (enqueueMail), the only way a domain sends mail',
  },
  {
    from: 'tenancy',
    to: 'identity',
    modules: [
      'accounts/policy.ts',
      'accounts/session-issue.ts',
      'accounts/verification.ts',
      'accounts/events.ts',
    ],
    why: 'accepting an invitation creates or signs in an account: the password policy, session issue, and the account event log',
  },
  {
    from: 'tenancy',
    to: 'identity',
    modules: ['credentials.ts', 'device/cli-credentials.ts', 'accounts/reset.ts'],
    why: "operator support actions (tenancy/support.ts) revoke an org's credentials and force a password reset through identity's own functions, in the transaction that audits them",
  },
  {
    from: 'identity',
    to: 'tenancy',
    modules: ['orgs.ts'],
    why: 'sign-up (password or provider) creates the first org and its owner: insertOrgWithOwner, the rows org creation writes',
  },
  {
    from: 'widget',
    to: 'gateway',
    modules: ['services.ts', 'route-cache.ts', 'providers.ts'],
    why: 'the widget chat is a gateway client: it routes through the org gateway routing and providers',
  },
];

const CORE_FORBIDDEN = [
  /^(node:)?(fs|net|dgram|child_process|http|https|tls)(\/.*)?$/,
  /^pg(-.*)?$/,
  /^@electric-sql\//,
  /^(ioredis|redis|mysql2?|sqlite3|better-sqlite3|mongodb|postgres|kysely|drizzle-orm)$/,
];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const SPECIFIER =
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s+['"]([^'"]+)['"]/g;

function importsOf(source: string): string[] {
  // Comments may mention imports; drop them first (line comments only at line start or after whitespace).
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  return [...code.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** `identity/services.ts` style path of a relative import inside packages/server/src, or undefined. */
function serverTarget(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const abs = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
  return relative(serverSrc, abs).split(sep).join('/');
}

function serverViolations(files: { path: string; source: string }[]): string[] {
  const bad: string[] = [];
  for (const { path, source } of files) {
    const from = relative(serverSrc, path).split(sep).join('/');
    const fromTop = from.split('/')[0] ?? '';
    if (!from.includes('/')) continue; // app.ts, index.ts: the composition root wires every domain.
    for (const spec of importsOf(source)) {
      const to = serverTarget(path, spec);
      if (!to || to.startsWith('..')) continue;
      const [toTop = '', ...rest] = to.split('/');
      if (toTop === fromTop || !DOMAINS.includes(toTop)) continue;
      if (BASE.includes(fromTop)) {
        bad.push(`${from} imports ${to}: ${fromTop}/ is the shared base and may not import a domain`);
        continue;
      }
      if (!DOMAINS.includes(fromTop)) continue;
      const module = rest.join('/');
      const ok = ALLOWED.some(
        (a) => (a.from === '*' || a.from === fromTop) && a.to === toTop && a.modules.includes(module),
      );
      if (!ok) bad.push(`${from} imports ${to}: ${fromTop} -> ${toTop}/${module} is not in the allow-list`);
    }
  }
  return bad;
}

function coreViolations(files: { path: string; source: string }[]): string[] {
  const bad: string[] = [];
  for (const { path, source } of files) {
    const from = relative(coreSrc, path).split(sep).join('/');
    for (const spec of importsOf(source)) {
      if (!CORE_FORBIDDEN.some((r) => r.test(spec))) continue;
      bad.push(`core/src/${from} imports ${spec}: core does no I/O and knows no database`);
    }
  }
  return bad;
}

const read = (dir: string) => tsFiles(dir).map((path) => ({ path, source: readFileSync(path, 'utf8') }));

describe('layering', () => {
  const server = read(serverSrc);
  const core = read(coreSrc);

  it('the scan sees the code (guards against a broken path or regex)', () => {
    expect(server.length).toBeGreaterThan(50);
    expect(core.length).toBeGreaterThan(10);
    const app = server.find((f) => f.path.endsWith(`${sep}app.ts`));
    expect(importsOf(app?.source ?? '')).toContain('./tenancy/audit-routes.js');
  });

  it('platform/ and db/ import no domain; domains import each other only through the allow-list', () => {
    expect(serverViolations(server)).toEqual([]);
  });

  it('packages/core imports no file system, network or database module', () => {
    expect(coreViolations(core)).toEqual([]);
  });

  it('every allow-list entry is still used (the list stays as short as the code)', () => {
    const used = ALLOWED.map((a) =>
      server.some(({ path, source }) => {
        const fromTop = relative(serverSrc, path).split(sep)[0] ?? '';
        if (fromTop === a.to || !DOMAINS.includes(fromTop) || (a.from !== '*' && a.from !== fromTop))
          return false;
        return importsOf(source).some((s) => {
          const to = serverTarget(path, s);
          return to !== undefined && a.modules.some((m) => to === `${a.to}/${m}`);
        });
      }),
    );
    expect(used).toEqual(ALLOWED.map(() => true));
  });

  it('rejects a forbidden import (the checks can fail)', () => {
    const fake = (p: string, source: string) => [{ path: join(serverSrc, p), source }];
    expect(
      serverViolations(fake('platform/x.ts', "import { a } from '../identity/services.js';")),
    ).toHaveLength(1);
    expect(serverViolations(fake('db/x.ts', "export { a } from '../jobs/store.js';"))).toHaveLength(1);
    expect(
      serverViolations(fake('gateway/x.ts', "import type { A } from '../widget/routes.js';")),
    ).toHaveLength(1);
    expect(
      serverViolations(fake('gateway/x.ts', "const m = await import('../jobs/store.js');")),
    ).toHaveLength(1);
    expect(serverViolations(fake('widget/x.ts', "import { a } from '../gateway/services.js';"))).toEqual([]);
    expect(coreViolations([{ path: join(coreSrc, 'x.ts'), source: "import pg from 'pg';" }])).toHaveLength(1);
  });
});
