import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { type Header, pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { type ArchiveEntry, readArchive, writeArchive } from './archive.js';
import { SkillPackError, type SkillPackErrorCode } from './errors.js';
import {
  ed25519Sign,
  ed25519Verify,
  generateSigningKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
} from './keys.js';
import { encodeManifest, MANIFEST_FORMAT } from './manifest.js';
import { buildPackage, type PackageFile, type VerifyOptions, verifyPackage } from './package.js';
import { packagePathProblem } from './paths.js';

const pairA = generateSigningKeyPair();
const pairB = generateSigningKeyPair();
const privA = parsePrivateKey(pairA.privateKeyPem);
const privB = parsePrivateKey(pairB.privateKeyPem);
const pubA = parsePublicKey(pairA.publicKeyPem);
const idA = keyIdOf(pubA);
const idB = keyIdOf(parsePublicKey(pairB.publicKeyPem));
/** This verifier trusts key A only. */
const trustA: VerifyOptions = { keyFor: (id) => (id === idA ? pubA : undefined) };
/** The wire format's domain-separation prefix, written out here so a change to it fails this suite. */
const CONTEXT = Buffer.from('rampart-skill-manifest/1\n', 'utf8');

const LOGIN = '{"action":"goto","url":"https://app.example.com/login"}';
const LONG = `deep/${'x'.repeat(70)}/${'y'.repeat(70)}/step.json`;
const FILES: PackageFile[] = [
  { path: 'steps/login.json', bytes: Buffer.from(LOGIN) },
  { path: 'README.md', bytes: Buffer.from('# Login flow\n') },
  { path: 'docs/café.md', bytes: Buffer.from('Ça marche.\n') },
  { path: LONG, bytes: Buffer.from('{"action":"click"}') },
  { path: 'empty.txt', bytes: Buffer.alloc(0) },
];
const SORTED = ['README.md', LONG, 'docs/café.md', 'empty.txt', 'steps/login.json'];
const build = (files = FILES, key = privA, version = 1) =>
  buildPackage({ name: 'login-flow', version, files }, key);
const entriesOf = async (bytes: Buffer) => readArchive(bytes, 1000);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Verifies expecting a refusal with exactly `code` (and `message` when given); returns the error. */
async function refused(
  bytes: Buffer,
  code: SkillPackErrorCode,
  message?: RegExp,
  opts: VerifyOptions = trustA,
): Promise<SkillPackError> {
  try {
    await verifyPackage(bytes, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(SkillPackError);
    const e = err as SkillPackError;
    expect(e.code).toBe(code);
    if (message) expect(e.message).toMatch(message);
    return e;
  }
  throw new Error(`expected ${code}, but the package verified`);
}

/** A tar with free-form headers (tar-stream directly), for what writeArchive will not write. */
async function rawTar(entries: Array<TarHeader & { bytes?: Buffer }>): Promise<Buffer> {
  const out = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of out) chunks.push(c as Buffer);
  })();
  for (const { bytes, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (bytes) out.entry({ mtime: new Date(0), ...h, size: bytes.length }, bytes, cb);
      else out.entry({ mtime: new Date(0), ...h }, cb);
    });
  }
  out.finalize();
  await done;
  return Buffer.concat(chunks);
}
type TarHeader = Partial<Header> & { name: string };
const FIXED = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', type: 'file' } as const;
const asRaw = (entries: ArchiveEntry[]) => entries.map((e) => ({ ...FIXED, name: e.name, bytes: e.bytes }));

describe('build and verify', () => {
  it('round trips: manifest, signature, files and package hash', async () => {
    const built = await build();
    expect(built.keyId).toBe(idA);
    expect(built.manifest.files.map((f) => f.path)).toEqual(SORTED);
    const v = await verifyPackage(built.bytes, trustA);
    expect(v.manifest).toEqual(built.manifest);
    expect(v.manifest).toMatchObject({ format: MANIFEST_FORMAT, name: 'login-flow', version: 1 });
    expect(v.manifestBytes.equals(encodeManifest(built.manifest))).toBe(true);
    expect(v.files.map((f) => f.path)).toEqual(SORTED);
    for (const f of FILES) expect(v.files.find((x) => x.path === f.path)?.bytes.equals(f.bytes)).toBe(true);
    for (const f of v.manifest.files) {
      const original = FILES.find((x) => x.path === f.path) as PackageFile;
      expect(f).toEqual({ path: f.path, size: original.bytes.length, sha256: sha256(original.bytes) });
    }
    expect(v.sha256).toBe(sha256(built.bytes));
    expect(v.signature.alg).toBe('Ed25519');
    expect(v.signature.keyId).toBe(idA);
    // The signature is over CONTEXT || manifest bytes, checked here independently of verifyPackage.
    const sig = Buffer.from(v.signature.signature, 'base64url');
    expect(ed25519Verify(pubA, Buffer.concat([CONTEXT, v.manifestBytes]), sig)).toBe(true);
    expect(ed25519Verify(pubA, v.manifestBytes, sig)).toBe(false);
  });

  it('lays the archive out as manifest.json, manifest.sig, files/<path> in path order', async () => {
    const entries = await entriesOf((await build()).bytes);
    expect(entries.map((e) => e.name)).toEqual([
      'manifest.json',
      'manifest.sig',
      ...SORTED.map((p) => `files/${p}`),
    ]);
    expect(Object.keys(JSON.parse(entries[1]?.bytes.toString() ?? ''))).toEqual([
      'alg',
      'keyId',
      'signature',
    ]);
  });

  it('is deterministic: any input order, a re-parsed key and a rebuild give identical bytes', async () => {
    const ref = (await build()).bytes;
    expect((await build([...FILES].reverse())).bytes.equals(ref)).toBe(true);
    expect(
      (await build([FILES[2], FILES[0], FILES[4], FILES[1], FILES[3]] as PackageFile[])).bytes.equals(ref),
    ).toBe(true);
    expect((await build(FILES, parsePrivateKey(pairA.privateKeyPem))).bytes.equals(ref)).toBe(true);
    expect((await build(FILES, privA, 2)).bytes.equals(ref)).toBe(false);
    expect((await build(FILES, privB)).bytes.equals(ref)).toBe(false);
  });

  it('is deterministic for random file sets (property)', async () => {
    const path = fc
      .tuple(fc.stringMatching(/^[a-zA-Z0-9_-]{1,6}$/), fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/))
      .map(([dir, base]) => `${dir}/${base}.bin`)
      .filter((p) => packagePathProblem(p) === null);
    const files = fc.uniqueArray(fc.record({ path, bytes: fc.uint8Array({ maxLength: 600 }) }), {
      minLength: 1,
      maxLength: 6,
      selector: (f) => f.path.toLowerCase(),
    });
    await fc.assert(
      fc.asyncProperty(files, async (input) => {
        const asFiles = input.map((f) => ({ path: f.path, bytes: Buffer.from(f.bytes) }));
        const a = await build(asFiles);
        const b = await build([...asFiles].reverse());
        expect(b.bytes.equals(a.bytes)).toBe(true);
        const v = await verifyPackage(a.bytes, { ...trustA, scan: false });
        expect(v.files.length).toBe(asFiles.length);
        for (const f of asFiles)
          expect(v.files.find((x) => x.path === f.path)?.bytes.equals(f.bytes)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  const hasTar = spawnSync('tar', ['--version']).status === 0;
  it.skipIf(!hasTar)('is a tar the system tar lists and extracts', async () => {
    const { bytes } = await build();
    const listed = spawnSync('tar', ['tf', '-'], { input: bytes, encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([
      'manifest.json',
      'manifest.sig',
      ...SORTED.map((p) => `files/${p}`),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'skillpack-'));
    try {
      const x = spawnSync('tar', ['xf', '-', '-C', dir], { input: bytes });
      expect(x.status).toBe(0);
      for (const f of FILES) expect(readFileSync(join(dir, 'files', f.path)).equals(f.bytes)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('buildPackage refuses a bad name, version, path, collision or empty file list', async () => {
    const one = [{ path: 'a.json', bytes: Buffer.from('{}') }];
    const cases: Array<[{ name: string; version: number; files: PackageFile[] }, RegExp]> = [
      [{ name: 'Bad Name', version: 1, files: one }, /skill name/],
      [{ name: 'ok', version: 0, files: one }, /version/],
      [{ name: 'ok', version: 1, files: [{ path: '../x', bytes: Buffer.alloc(1) }] }, /bad path/],
      [{ name: 'ok', version: 1, files: [...one, { path: 'A.json', bytes: Buffer.alloc(1) }] }, /collide/],
      [{ name: 'ok', version: 1, files: [] }, /no files/],
    ];
    for (const [input, why] of cases) {
      const err = await buildPackage(input, privA).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SkillPackError);
      expect((err as SkillPackError).code).toBe('malformed_manifest');
      expect((err as SkillPackError).message).toMatch(why);
    }
  });
});

describe('verifyPackage refusals', () => {
  it('hash_mismatch: one flipped byte in a file body', async () => {
    const bytes = Buffer.from((await build()).bytes);
    const at = bytes.indexOf(LOGIN);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(LOGIN, at + 1)).toBe(-1);
    bytes[at + 10] = (bytes[at + 10] ?? 0) ^ 0x01;
    const e = await refused(bytes, 'hash_mismatch');
    expect(e.details).toEqual({ path: 'steps/login.json' });
  });

  it('invalid_signature: one changed manifest byte', async () => {
    const bytes = Buffer.from((await build()).bytes);
    const at = bytes.indexOf('"version":1,');
    expect(at).toBeGreaterThan(0);
    bytes.write('"version":2,', at);
    await refused(bytes, 'invalid_signature');
  });

  it('untrusted_key: signed by a key this verifier does not trust', async () => {
    const e = await refused((await build(FILES, privB)).bytes, 'untrusted_key');
    expect(e.details).toEqual({ keyId: idB });
  });

  it('invalid_signature: the keyId names the trusted key but the signature is by another key', async () => {
    const entries = await entriesOf((await build(FILES, privB)).bytes);
    const doc = JSON.parse(entries[1]?.bytes.toString() ?? '') as { signature: string };
    const forged = { alg: 'Ed25519', keyId: idA, signature: doc.signature };
    entries[1] = { name: 'manifest.sig', bytes: Buffer.from(JSON.stringify(forged)) };
    const e = await refused(await writeArchive(entries), 'invalid_signature');
    expect(e.details).toEqual({ keyId: idA });
  });

  it('invalid_signature: a signature over the manifest without the domain-separation prefix', async () => {
    const entries = await entriesOf((await build()).bytes);
    const bare = ed25519Sign(privA, entries[0]?.bytes ?? Buffer.alloc(0)).toString('base64url');
    entries[1] = {
      name: 'manifest.sig',
      bytes: Buffer.from(JSON.stringify({ alg: 'Ed25519', keyId: idA, signature: bare })),
    };
    await refused(await writeArchive(entries), 'invalid_signature');
  });

  it.each<[string, string]>([
    ['not JSON', 'nope'],
    ['another alg', JSON.stringify({ alg: 'RS256', keyId: 'a'.repeat(32), signature: 'A'.repeat(86) })],
    ['a short keyId', JSON.stringify({ alg: 'Ed25519', keyId: 'abc', signature: 'A'.repeat(86) })],
    [
      'a short signature',
      JSON.stringify({ alg: 'Ed25519', keyId: 'a'.repeat(32), signature: 'A'.repeat(85) }),
    ],
  ])('malformed_package: manifest.sig is %s', async (_label, sig) => {
    const entries = await entriesOf((await build()).bytes);
    entries[1] = { name: 'manifest.sig', bytes: Buffer.from(sig) };
    await refused(await writeArchive(entries), 'malformed_package', /manifest\.sig/);
  });

  it('malformed_manifest: a correctly signed manifest that is not canonical, or holds a bad path', async () => {
    const entries = await entriesOf((await build()).bytes);
    const resign = async (manifestText: string) => {
      const m = Buffer.from(manifestText);
      const signature = ed25519Sign(privA, Buffer.concat([CONTEXT, m])).toString('base64url');
      const sig = Buffer.from(JSON.stringify({ alg: 'Ed25519', keyId: idA, signature }));
      return writeArchive([
        { name: 'manifest.json', bytes: m },
        { name: 'manifest.sig', bytes: sig },
        ...entries.slice(2),
      ]);
    };
    const pretty = JSON.stringify(JSON.parse(entries[0]?.bytes.toString() ?? ''), null, 1);
    let e = await refused(await resign(pretty), 'malformed_manifest', /canonical/);
    const evil = encodeManifest({ format: MANIFEST_FORMAT, name: 'x', version: 1, files: [] })
      .toString()
      .replace('"files":[]', `"files":[{"path":"../evil","size":0,"sha256":"${sha256(Buffer.alloc(0))}"}]`);
    e = await refused(await resign(evil), 'malformed_manifest', /bad path/);
    expect(e.details).toEqual({ path: '../evil' });
  });

  it('unexpected_file: an extra entry under files/, outside files/, or a duplicate', async () => {
    const entries = await entriesOf((await build()).bytes);
    let e = await refused(
      await writeArchive([...entries, { name: 'files/x', bytes: Buffer.from('x') }]),
      'unexpected_file',
    );
    expect(e.details).toEqual({ paths: ['x'] });
    e = await refused(
      await writeArchive([...entries, { name: 'run.sh', bytes: Buffer.from('x') }]),
      'unexpected_file',
    );
    expect(e.details).toEqual({ path: 'run.sh' });
    const dup = entries[2] as ArchiveEntry;
    await refused(await writeArchive([...entries, dup]), 'unexpected_file');
  });

  it('missing_file: an entry the manifest lists is absent', async () => {
    const entries = await entriesOf((await build()).bytes);
    const without = entries.filter((x) => x.name !== 'files/steps/login.json');
    const e = await refused(await writeArchive(without), 'missing_file');
    expect(e.details).toEqual({ path: 'steps/login.json' });
  });

  it('size_mismatch: a body of a different length', async () => {
    const entries = await entriesOf((await build()).bytes);
    const i = entries.findIndex((x) => x.name === 'files/README.md');
    entries[i] = { name: 'files/README.md', bytes: Buffer.from('# Login flow, longer\n') };
    const e = await refused(await writeArchive(entries), 'size_mismatch');
    expect(e.details).toEqual({ path: 'README.md' });
  });

  it.each<[string, TarHeader]>([
    ['a symlink', { name: 'files/link', type: 'symlink', linkname: '../../etc/passwd' }],
    ['a hard link', { name: 'files/hard', type: 'link', linkname: 'manifest.json' }],
    ['a directory', { name: 'files/dir/', type: 'directory', mode: 0o755 }],
  ])('malformed_package: %s entry', async (_label, header) => {
    const entries = await entriesOf((await build()).bytes);
    const raw = [...asRaw(entries.slice(0, 2)), header, ...asRaw(entries.slice(2))];
    const e = await refused(await rawTar(raw), 'malformed_package', /regular files only/);
    expect(e.details).toEqual({ path: header.name });
  });

  it('malformed_package: entries in the wrong order', async () => {
    const entries = await entriesOf((await build()).bytes);
    const [m, s, ...files] = entries as [ArchiveEntry, ArchiveEntry, ...ArchiveEntry[]];
    await refused(await writeArchive([s, m, ...files]), 'malformed_package', /must start with/);
    await refused(await writeArchive([...files, m, s]), 'malformed_package', /must start with/);
  });

  // Regression (found in review, fixed): the canonical-form check re-writes the entries in the order they were read, so files stored out of
  // path order still verify: a second byte string (with a different package sha256) for the same signed content,
  // although verifyPackage documents "the archive being exactly what buildPackage would write".
  it('malformed_package: files not in path order (canonical-form check)', async () => {
    const entries = await entriesOf((await build()).bytes);
    const [m, s, ...files] = entries as [ArchiveEntry, ArchiveEntry, ...ArchiveEntry[]];
    await refused(await writeArchive([m, s, ...files.reverse()]), 'malformed_package', /canonical/);
  });

  it('malformed_package: trailing bytes after the archive', async () => {
    const { bytes } = await build();
    await refused(Buffer.concat([bytes, Buffer.alloc(1024)]), 'malformed_package', /canonical/);
    await refused(Buffer.concat([bytes, Buffer.alloc(512, 0x41)]), 'malformed_package');
    await refused(Buffer.concat([bytes, Buffer.from('garbage')]), 'malformed_package');
  });

  it.each<[string, Partial<TarHeader>]>([
    ['mode 0755', { mode: 0o755 }],
    ['a modification time', { mtime: new Date(1_700_000_000_000) }],
    ['an owner name', { uname: 'builder' }],
    ['a uid', { uid: 1000 }],
  ])('malformed_package: a header with %s (canonical-form check)', async (_label, change) => {
    const raw = asRaw(await entriesOf((await build()).bytes));
    raw[3] = { ...(raw[3] as (typeof raw)[number]), ...change } as (typeof raw)[number];
    const bytes = await rawTar(raw);
    await refused(bytes, 'malformed_package', /canonical/);
    // The same archive with the header restored verifies, so the change alone is what is refused.
    await expect(verifyPackage(await rawTar(asRaw(await entriesOf(bytes))), trustA)).resolves.toBeDefined();
  });

  it('truncated, random and empty input', async () => {
    const { bytes } = await build();
    for (const n of [1, 100, 511, 700, bytes.length / 2 + 7, bytes.length - 1])
      await refused(bytes.subarray(0, n), 'malformed_package');
    // Cut exactly where a file entry would start: the archive reads as complete, so the file is missing.
    const entries = await entriesOf(bytes);
    const upToSig = await writeArchive(entries.slice(0, 2));
    await refused(bytes.subarray(0, upToSig.length - 1024), 'missing_file');
    const random = Buffer.from(
      Array.from({ length: 8192 }, (_, i) => createHash('sha256').update(`${i}`).digest()[0] ?? 0),
    );
    await refused(random, 'malformed_package');
    await refused(Buffer.alloc(0), 'malformed_package', /must start with/);
    await refused(Buffer.alloc(1024), 'malformed_package', /must start with/);
  });

  it('too_large: readArchive stops past its entry limit', async () => {
    const bytes = await writeArchive(
      Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, bytes: Buffer.from('x') })),
    );
    await expect(readArchive(bytes, 4)).resolves.toHaveLength(4);
    const err = await readArchive(bytes, 3).catch((e: unknown) => e);
    expect((err as SkillPackError).code).toBe('too_large');
  });

  it('auth_material: a correctly signed package holding a storage state; scan: false lets it through', async () => {
    const session = createHash('sha256').update('session').digest('hex');
    const state = JSON.stringify({
      cookies: [{ name: 'sid', value: session, domain: '.example.com' }],
      origins: [],
    });
    const files = [...FILES, { path: 'auth/state.json', bytes: Buffer.from(state) }];
    const { bytes } = await build(files);
    const e = await refused(bytes, 'auth_material');
    expect(e.details.findings).toEqual([
      { path: 'auth/state.json', kind: 'storage_state', reason: expect.stringContaining('storage state') },
    ]);
    expect(e.message).toContain('auth/state.json');
    expect(e.message).not.toContain(session);
    expect(JSON.stringify(e.details)).not.toContain(session);
    const v = await verifyPackage(bytes, { ...trustA, scan: false });
    expect(v.files.map((f) => f.path)).toContain('auth/state.json');
  });
});
