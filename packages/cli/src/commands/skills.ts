import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  buildPackage,
  generateSigningKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  SkillPackError,
  skillNameProblem,
  versionProblem,
} from '@rampart/core/skillpack';
import type { Command } from 'commander';
import { collectFiles } from '../skills/collect.js';
import { writeFileAtomic, writeNewFile } from '../skills/fsutil.js';
import { apiJson, serverUrl } from '../skills/http.js';
import { flagOrEnv, runCommand, UsageError } from './common.js';

const MB = 1024 * 1024;
const mb = (n: number) => `${(n / MB).toFixed(n < 10 * MB ? 2 : 1)} MB`;

/** Throttled progress lines on stderr (at most ~4 a second), for long scans, downloads and installs. */
export function progressLine(label: string): { tick(text: string): void; done(text: string): void } {
  let last = 0;
  return {
    tick(text) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      process.stderr.write(`${label}: ${text}\n`);
    },
    done(text) {
      process.stderr.write(`${label}: ${text}\n`);
    },
  };
}

async function skillMeta(dir: string, opts: { name?: string; version?: string }) {
  let meta: { name?: unknown; version?: unknown } = {};
  try {
    meta = JSON.parse(await readFile(join(dir, 'skill.json'), 'utf8')) as typeof meta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UsageError('skill.json is not valid JSON');
  }
  const name = opts.name ?? meta.name;
  const version = opts.version !== undefined ? Number(opts.version) : meta.version;
  if (typeof name !== 'string')
    throw new UsageError('give the skill name with --name or "name" in skill.json');
  if (typeof version !== 'number')
    throw new UsageError('give the version with --version or "version" in skill.json');
  const problem = skillNameProblem(name) ?? versionProblem(version);
  if (problem) throw new UsageError(problem);
  return { name, version };
}

export function registerSkillCommands(program: Command): void {
  const keys = program.command('keys').description('Ed25519 signing keys for skill packages');
  keys
    .command('generate')
    .description(
      'make a signing pair: the private key at <path> (mode 0600; keep it secret, e.g. in your CI secret store) and the public key at <path>.pub (register it with POST /api/orgs/:orgId/signing-keys)',
    )
    .requiredOption('--out <path>', 'where to write the private key')
    .option('--force', 'overwrite existing files')
    .action(async (opts: { out: string; force?: boolean }) =>
      runCommand(async () => {
        const out = resolve(opts.out);
        const pair = generateSigningKeyPair();
        const keyId = keyIdOf(parsePublicKey(pair.publicKeyPem));
        try {
          if (opts.force) {
            await writeFileAtomic(out, Buffer.from(pair.privateKeyPem), 0o600);
            await writeFileAtomic(`${out}.pub`, Buffer.from(pair.publicKeyPem), 0o644);
          } else {
            await writeNewFile(out, Buffer.from(pair.privateKeyPem), 0o600);
            await writeNewFile(`${out}.pub`, Buffer.from(pair.publicKeyPem), 0o644);
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST')
            throw new UsageError(`${opts.out} or its .pub already exists (use --force to replace it)`);
          throw err;
        }
        process.stderr.write(
          `wrote private key ${opts.out} (mode 0600) and public key ${opts.out}.pub\nkey id ${keyId}; register the .pub with your org before publishing\n`,
        );
        return JSON.stringify({ keyId, privateKey: out, publicKey: `${out}.pub` });
      }),
    );

  program
    .command('pack')
    .description(
      'build a signed skill package from a folder; refuses auth material (browser storage state, profiles, .env, HAR with credentials, private keys, tokens) and symlinks, listing every offending path',
    )
    .argument('<dir>', 'the skill folder')
    .option('--out <file>', 'the package file (default: <name>-<version>.skill in the current directory)')
    .option('--key <file>', 'the Ed25519 private key (default: $RAMPART_SIGNING_KEY_FILE)')
    .option('--name <name>', 'skill name (default: "name" in <dir>/skill.json)')
    .option('--version <n>', 'version, a whole number above the last published one (default: skill.json)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        dir: string,
        opts: { out?: string; key?: string; name?: string; version?: string; json?: boolean },
      ) =>
        runCommand(async () => {
          const keyFile = flagOrEnv(opts.key, 'RAMPART_SIGNING_KEY_FILE', 'the signing key file', '--key');
          const st = await stat(dir).catch(() => null);
          if (!st?.isDirectory()) throw new UsageError(`${dir} is not a directory`);
          const { name, version } = await skillMeta(dir, opts);
          let privateKey: ReturnType<typeof parsePrivateKey>;
          try {
            privateKey = parsePrivateKey(await readFile(keyFile, 'utf8'));
          } catch (err) {
            if (err instanceof SkillPackError) throw new UsageError(`${keyFile}: ${err.message}`);
            throw new UsageError(`cannot read the signing key ${keyFile}`);
          }
          const progress = progressLine('scanning');
          const collected = await collectFiles(dir, (n, bytes) => progress.tick(`${n} files, ${mb(bytes)}`));
          progress.done(`${collected.files.length} files, ${mb(collected.bytes)}`);
          for (const s of collected.skipped) process.stderr.write(`skipped ${s} (version control)\n`);
          if (collected.refusals.length > 0) {
            const lines = collected.refusals.map((r) => `  ${r.path}: ${r.reason}`).join('\n');
            throw new Error(`refused to pack ${dir}: ${collected.refusals.length} problem(s)\n${lines}`);
          }
          if (collected.files.length === 0) throw new Error(`${dir} holds no files to pack`);
          const pkg = await buildPackage({ name, version, files: collected.files }, privateKey);
          const out = resolve(opts.out ?? `${name}-${version}.skill`);
          await writeFileAtomic(out, pkg.bytes, 0o644);
          const sha256 = (await import('node:crypto')).createHash('sha256').update(pkg.bytes).digest('hex');
          const result = {
            name,
            version,
            files: collected.files.length,
            bytes: pkg.bytes.length,
            sha256,
            keyId: pkg.keyId,
            out,
          };
          if (opts.json) return JSON.stringify(result);
          return `packed ${name} v${version}: ${result.files} files, ${mb(result.bytes)}, sha256 ${sha256}, signed by key ${pkg.keyId}\nwrote ${out}`;
        }),
    );

  program
    .command('publish')
    .description(
      'upload a package to Rampart; the server re-verifies the signature, every hash and the auth-file scan',
    )
    .argument('<file>', 'the package made by rampart pack')
    .option('--server <url>', 'Rampart base URL (default: $RAMPART_SERVER)')
    .option('--org <orgId>', 'the org to publish to (default: $RAMPART_ORG_ID)')
    .option('--api-key <key>', 'an API key of the org (default: $RAMPART_API_KEY)')
    .action(async (file: string, opts: { server?: string; org?: string; apiKey?: string }) =>
      runCommand(async () => {
        const server = serverUrl(flagOrEnv(opts.server, 'RAMPART_SERVER', 'the server URL', '--server'));
        const org = flagOrEnv(opts.org, 'RAMPART_ORG_ID', 'the org id', '--org');
        const key = flagOrEnv(opts.apiKey, 'RAMPART_API_KEY', 'an API key', '--api-key');
        if (!/^[0-9a-f-]{36}$/i.test(org)) throw new UsageError('--org must be an org id (a UUID)');
        const bytes = await readFile(file).catch(() => {
          throw new UsageError(`cannot read ${file}`);
        });
        const out = await apiJson<{ name: string; version: number; sha256: string }>(
          server,
          `/api/orgs/${org}/skills`,
          key,
          { method: 'POST', body: bytes, contentType: 'application/octet-stream', timeoutMs: 300_000 },
        );
        process.stderr.write(`published ${out.name} v${out.version} (sha256 ${out.sha256})\n`);
        return JSON.stringify(out);
      }),
    );
}
