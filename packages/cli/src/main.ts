import { ConfigError, VERSION } from '@rampart/server';
import { Command, CommanderError } from 'commander';
import { registerAdmin } from './commands/admin.js';
import { registerAgentCommand, registerConnectionCommands } from './commands/connections.js';
import { registerLoginCommands } from './commands/login.js';
import { registerMcpCommand } from './commands/mcp.js';
import { registerRuntimeCommands } from './commands/runtime.js';
import { registerSkillCommands } from './commands/skills.js';
import { registerStart } from './commands/start.js';

/** Builds the `rampart` program. Exported for tests, which run commands in-process. */
export function buildProgram(): Command {
  const program = new Command('rampart')
    .description('Rampart: the security backbone for multi-tenant AI SaaS')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Configuration comes from environment variables (see README.md). Without DATABASE_URL, data lives in an
embedded PostgreSQL (PGlite) under RAMPART_DATA_DIR (default ./.rampart).

Examples:
  $ rampart start                       start the server on 127.0.0.1:8787
  $ rampart admin audit verify          check every audit chain for tampering
  $ rampart admin rotate-keys           re-seal all secrets under the newest master key
  $ rampart admin backfill-secrets      seal legacy plaintext secrets left in sealed columns
  $ rampart login --server <url>        sign the CLI in (approve the code in the dashboard)`,
    );
  registerStart(program);
  registerAdmin(program);
  registerConnectionCommands(program);
  registerAgentCommand(program);
  registerMcpCommand(program);
  registerSkillCommands(program);
  registerRuntimeCommands(program);
  registerLoginCommands(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      process.stderr.write(`rampart: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
