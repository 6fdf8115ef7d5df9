#!/usr/bin/env node
/**
 * `npm run audit`: `npm audit --omit=dev` (the dependencies a deployment runs), with an answer that cannot be
 * mistaken for a clean bill when nothing was checked. Extra arguments go to npm (`npm run audit -- --registry
 * https://registry.npmjs.org`).
 *
 * Exit codes: 0 no known vulnerability; 1 vulnerabilities found (listed); 2 the audit could not run (the
 * registry has no audit endpoint, as a mirror answering 405 does, or it failed otherwise): nothing was checked.
 */
import { spawnSync } from 'node:child_process';

const args = ['audit', '--omit=dev', '--json', ...process.argv.slice(2)];
const npm = spawnSync('npm', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

let report;
try {
  report = JSON.parse(npm.stdout);
} catch {
  report = undefined;
}

const registry = () => {
  const r = spawnSync('npm', ['config', 'get', 'registry', ...process.argv.slice(2)], { encoding: 'utf8' });
  return r.stdout.trim() || 'the configured registry';
};

function cannotAudit(why) {
  process.stderr.write(
    `npm run audit: NOT AUDITED: ${why}\n` +
      'No dependency was checked for known vulnerabilities. Run it where the registry serves the audit endpoint\n' +
      '(registry.npmjs.org does; a mirror may not), or name one: npm run audit -- --registry=<url>\n',
  );
  process.exit(2);
}

if (!report || typeof report !== 'object') {
  cannotAudit(`npm audit gave no report (exit ${npm.status}): ${npm.stderr.trim().split('\n').pop() ?? ''}`);
}
if (report.statusCode !== undefined || (report.error && !report.vulnerabilities)) {
  const status = report.statusCode ? `${report.statusCode} ` : '';
  const what =
    report.statusCode === 405 || report.statusCode === 404
      ? `the registry (${registry()}) has no audit endpoint: it answered ${status}${report.statusCode === 405 ? 'Method Not Allowed' : 'Not Found'} to POST ${report.uri ?? '/-/npm/v1/security/advisories/bulk'}`
      : `the audit request failed: ${status}${report.message ?? report.error?.summary ?? 'unknown error'}`;
  cannotAudit(what);
}

const counts = report.metadata?.vulnerabilities ?? {};
const found = Object.entries(report.vulnerabilities ?? {});
const deps = report.metadata?.dependencies?.prod ?? report.metadata?.dependencies?.total;
if (found.length === 0) {
  process.stdout.write(`npm run audit: no known vulnerabilities in ${deps ?? 'the'} runtime dependencies\n`);
  process.exit(0);
}
for (const [name, v] of found) {
  const advisories = (v.via ?? [])
    .filter((x) => typeof x === 'object')
    .map((x) => `${x.title} (${x.url})`)
    .join('; ');
  const through = (v.via ?? []).filter((x) => typeof x === 'string');
  process.stdout.write(
    `${v.severity.padEnd(8)} ${name}${v.range ? ` ${v.range}` : ''}: ${advisories || `through ${through.join(', ')}`}${
      v.fixAvailable ? ' (fix available: npm audit fix)' : ''
    }\n`,
  );
}
const summary = ['critical', 'high', 'moderate', 'low', 'info']
  .filter((s) => counts[s])
  .map((s) => `${counts[s]} ${s}`)
  .join(', ');
process.stdout.write(`npm run audit: ${found.length} vulnerable package(s): ${summary}\n`);
process.exit(1);
