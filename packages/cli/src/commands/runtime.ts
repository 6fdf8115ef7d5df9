import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parsePublicKey, SkillPackError } from '@rampart/core/skillpack';
import type { Command } from 'commander';
import { serverUrl } from '../skills/http.js';
import { syncSkills } from '../skills/sync.js';
import { flagOrEnv, runCommand, UsageError } from './common.js';
import { registerSessionCommands } from './session.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `rampart runtime ...`: what a company runtime runs: sync of signed skill packages, local browser sessions. */
export function registerRuntimeCommands(program: Command): Command {
  const runtime = program
    .command('runtime')
    .description(
      'skill runtime: sync signed packages from Rampart, keep browser sessions encrypted on this machine',
    );

  runtime
    .command('sync')
    .description(
      'download the org’s skills, verify each (pinned Ed25519 key, every SHA-256 and size, no unlisted file, no auth material), refuse rollbacks, and swap each into <dir>/<skill>/current atomically',
    )
    .option('--server <url>', 'Rampart base URL (default: $RAMPART_SERVER)')
    .option('--token <token>', 'a runtime token (default: $RAMPART_RUNTIME_TOKEN)')
    .option('--dir <dir>', 'where skills are installed (default: $RAMPART_SKILLS_DIR or ./skills)')
    .option('--skill <name>', 'sync only this skill (repeatable)', collect)
    .option(
      '--trust-key <file>',
      'pin this public key (a .pub from rampart keys generate; repeatable)',
      collect,
    )
    .option('--accept-server-keys', 'also pin signing keys the org added since the first sync')
    .option('--json', 'print the result as JSON')
    .action(
      async (opts: {
        server?: string;
        token?: string;
        dir?: string;
        skill?: string[];
        trustKey?: string[];
        acceptServerKeys?: boolean;
        json?: boolean;
      }) =>
        runCommand(async () => {
          const server = serverUrl(flagOrEnv(opts.server, 'RAMPART_SERVER', 'the server URL', '--server'));
          const token = flagOrEnv(opts.token, 'RAMPART_RUNTIME_TOKEN', 'a runtime token', '--token');
          const dir = resolve(opts.dir ?? process.env.RAMPART_SKILLS_DIR ?? 'skills');
          const trustKeys: Buffer[] = [];
          for (const file of opts.trustKey ?? []) {
            try {
              trustKeys.push(parsePublicKey(await readFile(file, 'utf8')));
            } catch (err) {
              throw new UsageError(
                `${file}: ${err instanceof SkillPackError ? err.message : 'cannot read it'}`,
              );
            }
          }
          const report = await syncSkills({
            server,
            token,
            dir,
            ...(opts.skill ? { only: opts.skill } : {}),
            trustKeys,
            acceptServerKeys: opts.acceptServerKeys === true,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          const refused = report.results.filter((r) => r.status === 'refused');
          if (refused.length > 0) process.exitCode = 1;
          if (opts.json) return JSON.stringify(report);
          const lines = report.results.map((r) =>
            r.status === 'installed'
              ? `${r.name}: installed v${r.to}${r.from ? ` (was v${r.from})` : ''}`
              : r.status === 'up_to_date'
                ? `${r.name}: up to date (v${r.version})`
                : `${r.name}: REFUSED (${r.code}) ${r.reason}`,
          );
          return lines.length ? lines.join('\n') : 'the org has no skills to sync';
        }),
    );

  registerSessionCommands(runtime);
  return runtime;
}
