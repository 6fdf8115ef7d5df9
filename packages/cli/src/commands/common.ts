import { VaultError } from '../runtime/vault.js';

/** A mistake in how the command was called: exit code 2 (1 is for failures of the work itself). */
export class UsageError extends Error {}

/**
 * Runs a command body: prints what it returns on stdout, or `rampart: <message>` on stderr with exit code 2
 * (usage) or 1 (failure). Never a stack trace, and messages never echo secret inputs.
 */
export async function runCommand(fn: () => Promise<string | undefined>): Promise<void> {
  try {
    const out = await fn();
    if (out !== undefined) process.stdout.write(`${out}\n`);
  } catch (err) {
    process.stderr.write(`rampart: ${(err as Error).message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}

/** A value from a flag or, failing that, an environment variable (keeps secrets out of `ps` and history). */
export function flagOrEnv(flag: string | undefined, envName: string, what: string, flagName: string): string {
  const v = flag ?? process.env[envName];
  if (!v) throw new UsageError(`give ${what} with ${flagName} or ${envName}`);
  return v;
}

/** Runs vault work, turning a refused name or kind into a usage error (exit 2); other vault errors exit 1. */
export function vaultCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof VaultError && (err.code === 'invalid_name' || err.code === 'invalid_kind')) {
      throw new UsageError(err.message);
    }
    throw err;
  }
}

/**
 * Everything on standard input, read as a stream. `readFileSync(0)` fails with EAGAIN when stdin is a pipe whose
 * writer has not written yet (`slow-producer | rampart ...`), which a loaded machine makes common.
 */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
