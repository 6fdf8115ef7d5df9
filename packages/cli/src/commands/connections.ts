import { readFileSync } from 'node:fs';
import { type ConnectionEnvelope, openConnection, sealConnection } from '@rampart/core/connseal';
import type { Command } from 'commander';
import { INSECURE_HTTP_ENV, serverUrl } from '../skills/http.js';
import { flagOrEnv, readStdin, runCommand, UsageError } from './common.js';

/** The API key from --api-key, or RAMPART_API_KEY (keeps it out of shell history and `ps`). */
const apiKeyFrom = (flag: string | undefined, envName = 'RAMPART_API_KEY'): string =>
  flagOrEnv(flag, envName, 'the API key', '--api-key');

async function readArg(value: string): Promise<string> {
  // `-` reads standard input, so a connection string never has to appear on a command line.
  return (value === '-' ? (await readStdin()).toString('utf8') : value).trim();
}

// Never echo inputs in errors: they are a connection string and API keys.
const run = runCommand;

export function registerConnectionCommands(program: Command): void {
  program
    .command('seal-connection')
    .description(
      'encrypt a database connection string on this machine with a key derived from your API key (PBKDF2-SHA256, 600,000 iterations; AES-256-GCM); prints the envelope JSON to send as `sealed` — the server never sees the string',
    )
    .argument('<connection-string>', 'postgres:// URL, or - to read it from standard input')
    .option('--api-key <key>', 'the API key that will run queries (default: $RAMPART_API_KEY)')
    .action(async (conn: string, opts: { apiKey?: string }) =>
      run(async () => {
        const key = apiKeyFrom(opts.apiKey);
        const plain = await readArg(conn);
        if (!/^postgres(ql)?:\/\//.test(plain))
          throw new UsageError('the connection string must be a postgres:// URL');
        return JSON.stringify(await sealConnection(key, plain));
      }),
    );

  program
    .command('reseal-connection')
    .description(
      're-encrypt a sealed connection for a new API key (after rotating keys); prints the new envelope',
    )
    .argument('<envelope>', 'the envelope JSON, a file holding it, or - for standard input')
    .option('--old-api-key <key>', 'the key it is sealed under (default: $RAMPART_OLD_API_KEY)')
    .option('--new-api-key <key>', 'the key to seal it under (default: $RAMPART_API_KEY)')
    .action(async (source: string, opts: { oldApiKey?: string; newApiKey?: string }) =>
      run(async () => {
        const oldKey = apiKeyFrom(opts.oldApiKey, 'RAMPART_OLD_API_KEY');
        const newKey = apiKeyFrom(opts.newApiKey);
        let text = source === '-' ? (await readStdin()).toString('utf8') : source;
        if (!text.trim().startsWith('{')) text = readFileSync(source, 'utf8');
        let envelope: ConnectionEnvelope;
        try {
          envelope = JSON.parse(text) as ConnectionEnvelope;
        } catch {
          throw new UsageError('the envelope is not JSON');
        }
        const plain = await openConnection(oldKey, envelope);
        return JSON.stringify(await sealConnection(newKey, plain));
      }),
    );
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      'run the on-prem database agent: connects out to Rampart, re-validates and runs read-only queries on your database, returns only the requested rows; the connection string never leaves this machine',
    )
    .option(
      '--server <urls>',
      'Rampart base URL; several, comma-separated (one per node), keep a connection to each for availability (default: $RAMPART_SERVER)',
    )
    .option(
      '--token <token>',
      'the agent token shown when the connection was created (default: $RAMPART_AGENT_TOKEN)',
    )
    .option(
      '--database-url <url>',
      'your database, as a SELECT-only role (default: $RAMPART_AGENT_DATABASE_URL)',
    )
    .option(
      '--policy <file>',
      'local policy (JSON): the tables queries may read, denied columns, max rows; enforced here whatever the server sends (default: $RAMPART_AGENT_POLICY)',
    )
    .option(
      '--audit-file <file>',
      'append one JSON line per query received (SQL text, row count, outcome; never rows) to this file, created 0600 (default: $RAMPART_AGENT_AUDIT_FILE)',
    )
    .option('--read-only-check', 'refuse to start if the database role can write anything')
    .action(
      async (opts: {
        server?: string;
        token?: string;
        databaseUrl?: string;
        policy?: string;
        auditFile?: string;
        readOnlyCheck?: boolean;
      }) => {
        const server = opts.server ?? process.env.RAMPART_SERVER;
        const token = opts.token ?? process.env.RAMPART_AGENT_TOKEN;
        const databaseUrl = opts.databaseUrl ?? process.env.RAMPART_AGENT_DATABASE_URL;
        const policyFile = opts.policy ?? process.env.RAMPART_AGENT_POLICY;
        const auditFile = opts.auditFile ?? process.env.RAMPART_AGENT_AUDIT_FILE;
        if (!server || !token || !databaseUrl) {
          process.stderr.write(
            'rampart: agent needs --server, --token and --database-url (or their environment variables)\n',
          );
          process.exitCode = 2;
          return;
        }
        const servers = server
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean);
        try {
          if (!servers.length) throw new Error('--server must name at least one URL');
          for (const u of servers)
            serverUrl(u, { allowInsecureHttp: process.env[INSECURE_HTTP_ENV] === '1' });
        } catch (err) {
          process.stderr.write(`rampart: agent: ${(err as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        const { loadAgentPolicy, runAgent } = await import('@rampart/server');
        let policy: ReturnType<typeof loadAgentPolicy> | undefined;
        try {
          policy = policyFile ? loadAgentPolicy(policyFile) : undefined;
        } catch (err) {
          process.stderr.write(`rampart: agent: ${(err as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        const log = (l: string) => process.stderr.write(`rampart agent: ${l}\n`);
        if (!policy) log('warning: no --policy: queries may read everything the database role can read');
        if (!auditFile) log('warning: no --audit-file: queries are not recorded on this machine');
        let agent: ReturnType<typeof runAgent> | undefined;
        // Handlers first: the agent logs "connected" before `ready` settles, and a SIGTERM in that moment must
        // still close the socket and the database pool instead of killing the process mid-handshake.
        let stopping = false;
        const stop = () => {
          stopping = true;
          if (!agent) process.exit(0);
          else void agent.stop().then(() => process.exit(0));
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        try {
          agent = runAgent({
            server: servers,
            token,
            databaseUrl,
            log,
            ...(policy ? { policy } : {}),
            ...(auditFile ? { auditFile } : {}),
            readOnlyCheck: opts.readOnlyCheck === true,
          });
          await agent.ready;
        } catch (err) {
          // Stopped while starting (the read-only check's query fails once stop() closes the pool): not an error.
          if (stopping) return new Promise<never>(() => {});
          process.stderr.write(`rampart: agent: ${(err as Error).message}\n`);
          process.exit(1);
        }
        await new Promise<never>(() => {});
      },
    );
}
