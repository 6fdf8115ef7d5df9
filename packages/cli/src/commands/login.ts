/**
 * `rampart login | logout | whoami`: sign the CLI in to a Rampart server with the OAuth 2.0 Device Authorization
 * Grant (RFC 8628). The CLI shows a code, a signed-in user approves it in the dashboard, and the CLI's polling
 * receives a CLI credential (`cli_live_...`), kept encrypted in the local vault (kind `cli-credential`, one file
 * per server host, mode 0600). The credential never goes to stdout, stderr or the process's arguments.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { VERSION } from '@rampart/server/version';
import type { Command } from 'commander';
import { openVault, type Vault, VaultError } from '../runtime/vault.js';
import { apiFetch, apiJson, HttpError, serverUrl } from '../skills/http.js';
import { flagOrEnv, runCommand, vaultCall } from './common.js';

/** The vault kind CLI credentials are stored under (files in `<config dir>/cli-credential/`). */
export const CLI_CREDENTIAL_KIND = 'cli-credential';
const CLIENT_ID = 'rampart-cli';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const REQUEST_TIMEOUT_MS = 30_000;
/** A "still waiting" line at most this often (and never more than once per poll). */
const PROGRESS_EVERY_MS = 30_000;

/** What the vault holds for one server. */
export interface StoredCredential {
  server: string;
  token: string;
  credentialId?: string;
  createdAt: string;
}

/**
 * The vault name for a server: its host (and port), `:` and other characters the vault refuses turned into `_`,
 * e.g. `rampart.example.com`, `127.0.0.1_8787`. Hosts too long for a file name keep a hash suffix.
 */
export function vaultNameFor(server: URL): string {
  const host = server.host.replace(/[[\]]/g, '');
  let name = host.replace(/[^A-Za-z0-9._-]/g, '_');
  if (!/^[A-Za-z0-9]/.test(name)) name = `h${name}`;
  if (name.length > 64) {
    name = `${name.slice(0, 51)}-${createHash('sha256').update(host).digest('hex').slice(0, 12)}`;
  }
  return name;
}

/** Server-supplied text made safe to print: no control characters (terminal escape sequences). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this removes
const printable = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');

const userAgent = (): string =>
  `rampart-cli/${VERSION} (${printable(hostname()).slice(0, 64)}; ${process.platform} ${process.arch}; node ${process.version})`;

class Cancelled extends Error {}

interface FormAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs an RFC 8628 form (what any device-flow client sends) and reads the JSON answer. */
async function postForm(
  server: URL,
  path: string,
  params: Record<string, string>,
  signal: AbortSignal,
): Promise<FormAnswer> {
  let res: Response;
  try {
    res = await fetch(new URL(path, server), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'user-agent': userAgent(),
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      redirect: 'error',
    });
  } catch (err) {
    if (signal.aborted) throw new Cancelled('cancelled');
    const cause = (err as Error).name === 'TimeoutError' ? 'timed out' : 'could not be reached';
    throw new Error(`the server at ${server.origin} ${cause}`);
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed = (await res.json()) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    if (signal.aborted) throw new Cancelled('cancelled');
  }
  return { status: res.status, headers: res.headers, body };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function refusal(a: FormAnswer): string {
  const error = str(a.body.error) ?? 'error';
  const message = str(a.body.message) ?? str(a.body.error_description) ?? '';
  return printable(`${a.status} ${error}${message ? `: ${message}` : ''}`);
}

/**
 * Runs the device flow to the end: the access token, or an Error (denied, expired, refused) or {@link Cancelled}.
 * Polls no faster than the server's `interval`, adding 5 s on each `slow_down` (RFC 8628 §3.5).
 */
async function deviceFlow(server: URL, signal: AbortSignal, log: (line: string) => void): Promise<string> {
  const start = await postForm(server, '/api/auth/device/code', { client_id: CLIENT_ID }, signal);
  const deviceCode = str(start.body.device_code);
  const userCode = str(start.body.user_code);
  const uri = str(start.body.verification_uri);
  if (start.status !== 200 || !deviceCode || !userCode || !uri) {
    throw new Error(`the server did not start a sign-in (${refusal(start)})`);
  }
  const complete = str(start.body.verification_uri_complete);
  const expiresIn = Math.min(Math.max(num(start.body.expires_in) ?? 600, 10), 3600);
  let interval = Math.min(Math.max(num(start.body.interval) ?? 5, 1), 60);
  log(`Open ${printable(uri)} and enter code ${printable(userCode)}`);
  if (complete) log(`  (or open ${printable(complete)})`);
  log(
    `Waiting for approval; the code expires in ${Math.round(expiresIn / 60)} minutes. Press Ctrl-C to cancel.`,
  );

  const deadline = Date.now() + expiresIn * 1000;
  let lastProgress = Date.now();
  for (;;) {
    try {
      await sleep(interval * 1000, undefined, { signal });
    } catch {
      throw new Cancelled('cancelled');
    }
    if (Date.now() > deadline + 30_000) {
      throw new Error('the code expired before it was approved; run rampart login again');
    }
    let poll: FormAnswer;
    try {
      poll = await postForm(
        server,
        '/api/auth/device/token',
        { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: CLIENT_ID },
        signal,
      );
    } catch (err) {
      if (err instanceof Cancelled) throw err;
      log(`${(err as Error).message}; retrying`);
      continue;
    }
    const token = str(poll.body.access_token);
    if (poll.status === 200 && token) return token;
    const remaining = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    switch (poll.status === 400 ? str(poll.body.error) : undefined) {
      case 'authorization_pending':
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = Date.now();
          log(`still waiting for approval (${Math.floor(remaining / 60)}m ${remaining % 60}s left)`);
        }
        continue;
      case 'slow_down':
        interval = Math.min(interval + 5, 60);
        log(`the server asked to poll more slowly: now every ${interval} s`);
        continue;
      case 'expired_token':
        throw new Error('the code expired before it was approved; run rampart login again');
      case 'access_denied':
        throw new Error('the sign-in request was denied in the dashboard; nothing was saved');
    }
    if (poll.status === 429) {
      const wait = Number(poll.headers.get('retry-after'));
      interval = Math.min(Math.max(interval, Number.isFinite(wait) ? wait : interval), 60);
      continue;
    }
    throw new Error(`the server refused the sign-in (${refusal(poll)})`);
  }
}

/** The saved credential for `server`, or undefined when there is none. */
function loadCredential(vault: Vault, name: string): StoredCredential | undefined {
  let bytes: Buffer;
  try {
    bytes = vaultCall(() => vault.get(CLI_CREDENTIAL_KIND, name));
  } catch (err) {
    if (err instanceof VaultError && err.code === 'not_found') return undefined;
    throw err;
  }
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as Partial<StoredCredential>;
    if (typeof doc.token !== 'string' || typeof doc.server !== 'string') throw new Error('bad');
    return doc as StoredCredential;
  } catch {
    throw new Error(
      `the saved credential ${vault.pathFor(CLI_CREDENTIAL_KIND, name)} is unreadable; delete it`,
    );
  } finally {
    bytes.fill(0);
  }
}

function saveCredential(vault: Vault, name: string, record: StoredCredential): string {
  const bytes = Buffer.from(JSON.stringify(record), 'utf8');
  try {
    return vault.put(CLI_CREDENTIAL_KIND, name, bytes).path;
  } finally {
    bytes.fill(0);
  }
}

interface Who {
  userId: string;
  email: string;
  credentialId: string;
}

const serverOption = (cmd: Command) =>
  cmd.option('--server <url>', 'Rampart base URL (default: $RAMPART_SERVER)');

function target(opts: { server?: string }): { server: URL; vault: Vault; name: string } {
  const server = serverUrl(flagOrEnv(opts.server, 'RAMPART_SERVER', 'the server URL', '--server'));
  const vault = openVault();
  const name = vaultNameFor(server);
  vaultCall(() => vault.pathFor(CLI_CREDENTIAL_KIND, name));
  return { server, vault, name };
}

const notSignedIn = (server: URL) =>
  `not signed in to ${server.origin}; run rampart login --server ${server.origin}`;

/** `rampart login`, `rampart logout`, `rampart whoami`. */
export function registerLoginCommands(program: Command): void {
  serverOption(
    program
      .command('login')
      .description(
        'sign the CLI in to a Rampart server: approve the code it shows in the dashboard (RFC 8628 device flow); the credential is kept encrypted on this machine',
      ),
  ).action(async (opts: { server?: string }) =>
    runCommand(async () => {
      const { server, vault, name } = target(opts);
      const previous = loadCredential(vault, name);
      const controller = new AbortController();
      const cancel = () => controller.abort();
      process.once('SIGINT', cancel);
      process.once('SIGTERM', cancel);
      let token: string;
      try {
        token = await deviceFlow(server, controller.signal, (line) => process.stderr.write(`${line}\n`));
      } catch (err) {
        if (!(err instanceof Cancelled)) throw err;
        process.stderr.write('rampart: login cancelled; nothing was saved\n');
        process.exitCode = 130;
        return undefined;
      } finally {
        process.off('SIGINT', cancel);
        process.off('SIGTERM', cancel);
      }
      let who: Who | undefined;
      try {
        who = await apiJson<Who>(server, '/api/cli/whoami', token, { timeoutMs: REQUEST_TIMEOUT_MS });
      } catch {
        who = undefined;
      }
      const path = saveCredential(vault, name, {
        server: server.origin,
        token,
        ...(who ? { credentialId: who.credentialId } : {}),
        createdAt: new Date().toISOString(),
      });
      process.stderr.write(`credential saved, encrypted, at ${path}\n`);
      if (previous && previous.token !== token) {
        // The credential this one replaces would otherwise stay valid, unused, until it expires.
        await apiFetch(server, '/api/auth/cli/logout', previous.token, {
          method: 'POST',
          timeoutMs: REQUEST_TIMEOUT_MS,
        }).then(
          () => process.stderr.write('revoked the credential this login replaces\n'),
          () => {},
        );
      }
      return who ? `Signed in as ${printable(who.email)}` : `Signed in to ${server.origin}`;
    }),
  );

  serverOption(
    program
      .command('logout')
      .description('revoke the CLI credential on the server, then delete it from this machine'),
  ).action(async (opts: { server?: string }) =>
    runCommand(async () => {
      const { server, vault, name } = target(opts);
      const saved = loadCredential(vault, name);
      if (!saved) {
        process.stderr.write(`not signed in to ${server.origin}; nothing to do\n`);
        return undefined;
      }
      let failure: Error | undefined;
      try {
        await apiFetch(server, '/api/auth/cli/logout', saved.token, {
          method: 'POST',
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (err) {
        // 401: already revoked or expired on the server, so there is nothing left to revoke.
        if (!(err instanceof HttpError && err.status === 401)) failure = err as Error;
      }
      vault.delete(CLI_CREDENTIAL_KIND, name);
      if (failure) {
        throw new Error(
          `deleted the local credential, but could not revoke it on the server (${failure.message}): it stays valid until it expires or is revoked in the dashboard (Account and security, CLI sessions)`,
        );
      }
      return `Signed out of ${server.origin}`;
    }),
  );

  serverOption(
    program.command('whoami').description('show which account the saved CLI credential signs in as'),
  ).action(async (opts: { server?: string }) =>
    runCommand(async () => {
      const { server, vault, name } = target(opts);
      const saved = loadCredential(vault, name);
      if (!saved) throw new Error(notSignedIn(server));
      let who: Who;
      try {
        who = await apiJson<Who>(server, '/api/cli/whoami', saved.token, { timeoutMs: REQUEST_TIMEOUT_MS });
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) {
          throw new Error(
            `the server refused the saved credential (revoked or expired); run rampart login --server ${server.origin}`,
          );
        }
        throw err;
      }
      return `Signed in to ${server.origin} as ${printable(who.email)} (CLI session ${who.credentialId})`;
    }),
  );
}
