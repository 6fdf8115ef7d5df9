import { VERSION } from '@rampart/server/version';
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
    // The root's options (only -v/--version) count before the subcommand only: otherwise `rampart pack
    // --version 3` printed the CLI's version and exited 0 instead of packing version 3.
    .enablePositionalOptions()
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

/**
 * Commander's answers that are not usage errors: help and version were asked for. (A command that needs a
 * subcommand and got none shows its help as an error, `commander.help` with exit code 1: that is a usage error.)
 */
const isUsageError = (err: CommanderError): boolean =>
  !(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version');

/**
 * Every command in the tree throws instead of exiting. Commander copies `exitOverride` to subcommands only when
 * they are created after it, so without this a subcommand's usage error called process.exit(1) itself.
 */
function throwEverywhere(cmd: Command): Command {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwEverywhere(sub);
  return cmd;
}

/**
 * Runs the CLI; resolves to the process exit code. Usage errors (unknown option or command, missing or invalid
 * argument) exit 2 in every subcommand, like configuration errors; help and --version exit 0.
 */
export async function run(argv: string[]): Promise<number> {
  const program = throwEverywhere(buildProgram());
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return isUsageError(err) ? 2 : err.exitCode;
    // loadConfig's ConfigError, told by name: importing its class would load the whole server for every command.
    if (err instanceof Error && err.name === 'ConfigError') {
      process.stderr.write(`rampart: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
