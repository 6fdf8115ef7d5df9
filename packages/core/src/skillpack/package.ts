import { createHash, type KeyObject } from 'node:crypto';
import { readArchive, writeArchive } from './archive.js';
import { SkillPackError } from './errors.js';
import { ed25519Sign, ed25519Verify, keyIdOf, publicKeyOf } from './keys.js';
import {
  checkManifest,
  decodeManifest,
  encodeManifest,
  MANIFEST_FORMAT,
  MAX_FILES,
  type Manifest,
} from './manifest.js';
import { comparePaths } from './paths.js';
import { type Finding, scanFile } from './scan.js';

const MANIFEST_ENTRY = 'manifest.json';
const SIGNATURE_ENTRY = 'manifest.sig';
const FILE_PREFIX = 'files/';
/** Domain separation: a manifest signature can never be replayed as a signature over anything else. */
const SIGNING_CONTEXT = Buffer.from('rampart-skill-manifest/1\n', 'utf8');

export interface PackageFile {
  path: string;
  bytes: Buffer;
}

export interface SignatureDoc {
  alg: 'Ed25519';
  keyId: string;
  /** base64url of the 64-byte signature. */
  signature: string;
}

export interface VerifiedPackage {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: SignatureDoc;
  files: PackageFile[];
  /** SHA-256 (hex) of the whole package file. */
  sha256: string;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const signedBytes = (manifestBytes: Buffer) => Buffer.concat([SIGNING_CONTEXT, manifestBytes]);
const encodeSignature = (s: SignatureDoc) =>
  Buffer.from(JSON.stringify({ alg: s.alg, keyId: s.keyId, signature: s.signature }), 'utf8');

/**
 * Builds a signed package: a deterministic tar of `manifest.json`, `manifest.sig` and `files/<path>` in path
 * order. Same files, name, version and key give the same bytes (Ed25519 signatures are deterministic).
 * Does not scan for auth material: callers run {@link scanFile} first and refuse on findings.
 * @throws {SkillPackError} `malformed_manifest` for a bad name, version or path.
 */
export async function buildPackage(
  input: { name: string; version: number; files: readonly PackageFile[] },
  privateKey: KeyObject,
): Promise<{ bytes: Buffer; manifest: Manifest; keyId: string }> {
  const files = [...input.files].sort((a, b) => comparePaths(a.path, b.path));
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: input.name,
    version: input.version,
    files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256(f.bytes) })),
  };
  checkManifest(manifest);
  const manifestBytes = encodeManifest(manifest);
  const keyId = keyIdOf(publicKeyOf(privateKey));
  const signature: SignatureDoc = {
    alg: 'Ed25519',
    keyId,
    signature: ed25519Sign(privateKey, signedBytes(manifestBytes)).toString('base64url'),
  };
  const bytes = await writeArchive([
    { name: MANIFEST_ENTRY, bytes: manifestBytes },
    { name: SIGNATURE_ENTRY, bytes: encodeSignature(signature) },
    ...files.map((f) => ({ name: FILE_PREFIX + f.path, bytes: f.bytes })),
  ]);
  return { bytes, manifest, keyId };
}

export interface VerifyOptions {
  /** The raw Ed25519 public key this verifier trusts under `keyId`, or `undefined` for an unknown key. */
  keyFor: (keyId: string) => Uint8Array | undefined;
  /** Repeat the auth-material scan on every file (default true). */
  scan?: boolean;
}

function parseSignature(bytes: Buffer): SignatureDoc {
  let doc: Partial<SignatureDoc> | null = null;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Partial<SignatureDoc>;
  } catch {
    // handled below
  }
  if (
    doc === null ||
    typeof doc !== 'object' ||
    doc.alg !== 'Ed25519' ||
    typeof doc.keyId !== 'string' ||
    !/^[0-9a-f]{32}$/.test(doc.keyId) ||
    typeof doc.signature !== 'string' ||
    !/^[A-Za-z0-9_-]{86}$/.test(doc.signature)
  )
    throw new SkillPackError('malformed_package', 'manifest.sig is not an Ed25519 signature document');
  return doc as SignatureDoc;
}

/**
 * Verifies a package completely, cheapest and most decisive checks first: archive shape, signature by a trusted
 * key over the exact manifest bytes, then each file's presence, size and SHA-256, no file the manifest does not
 * list, the archive being exactly what `buildPackage` would write (no smuggled headers or trailing bytes), and
 * finally the auth-material scan.
 *
 * @throws {SkillPackError} with the code of the first failed check.
 * @example const pkg = await verifyPackage(bytes, { keyFor: (id) => trusted.get(id) });
 */
export async function verifyPackage(bytes: Buffer, opts: VerifyOptions): Promise<VerifiedPackage> {
  const entries = await readArchive(bytes, MAX_FILES + 2);
  const [manifestEntry, signatureEntry, ...fileEntries] = entries;
  if (manifestEntry?.name !== MANIFEST_ENTRY || signatureEntry?.name !== SIGNATURE_ENTRY)
    throw new SkillPackError(
      'malformed_package',
      'the package must start with manifest.json and manifest.sig',
    );
  const signature = parseSignature(signatureEntry.bytes);
  const publicKey = opts.keyFor(signature.keyId);
  if (!publicKey)
    throw new SkillPackError(
      'untrusted_key',
      `the package is signed by key ${signature.keyId}, which is not trusted here`,
      {
        keyId: signature.keyId,
      },
    );
  if (
    !ed25519Verify(publicKey, signedBytes(manifestEntry.bytes), Buffer.from(signature.signature, 'base64url'))
  )
    throw new SkillPackError('invalid_signature', 'the manifest signature does not verify', {
      keyId: signature.keyId,
    });
  const manifest = decodeManifest(manifestEntry.bytes);

  const byPath = new Map<string, Buffer>();
  for (const e of fileEntries) {
    if (!e.name.startsWith(FILE_PREFIX) || byPath.has(e.name.slice(FILE_PREFIX.length)))
      throw new SkillPackError('unexpected_file', `unexpected archive entry "${e.name}"`, { path: e.name });
    byPath.set(e.name.slice(FILE_PREFIX.length), e.bytes);
  }
  const files: PackageFile[] = [];
  for (const f of manifest.files) {
    const content = byPath.get(f.path);
    if (!content)
      throw new SkillPackError('missing_file', `"${f.path}" is in the manifest but not in the package`, {
        path: f.path,
      });
    if (content.length !== f.size)
      throw new SkillPackError(
        'size_mismatch',
        `"${f.path}" is ${content.length} bytes; the manifest says ${f.size}`,
        { path: f.path },
      );
    if (sha256(content) !== f.sha256)
      throw new SkillPackError('hash_mismatch', `"${f.path}" does not match its SHA-256 in the manifest`, {
        path: f.path,
      });
    byPath.delete(f.path);
    files.push({ path: f.path, bytes: content });
  }
  const extra = [...byPath.keys()];
  if (extra.length > 0)
    throw new SkillPackError(
      'unexpected_file',
      `the package holds files the manifest does not list: ${extra.slice(0, 5).join(', ')}`,
      {
        paths: extra.slice(0, 20),
      },
    );
  // Rebuilt in manifest (path) order: one signed content has exactly one valid byte form.
  const canonical = await writeArchive([
    manifestEntry,
    signatureEntry,
    ...files.map((f) => ({ name: FILE_PREFIX + f.path, bytes: f.bytes })),
  ]);
  if (!canonical.equals(bytes))
    throw new SkillPackError(
      'malformed_package',
      'the archive is not in canonical form (extra headers, modes or trailing bytes)',
    );
  if (opts.scan !== false) {
    const findings = files.flatMap((f) => scanFile(f.path, f.bytes));
    if (findings.length > 0) throw authMaterialError(findings);
  }
  return { manifest, manifestBytes: manifestEntry.bytes, signature, files, sha256: sha256(bytes) };
}

/** The refusal for files carrying credentials: every offending path with its reason. */
export function authMaterialError(findings: readonly Finding[]): SkillPackError {
  const lines = findings.map((f) => `${f.path}: ${f.reason}`);
  return new SkillPackError(
    'auth_material',
    `refused: ${findings.length} file finding(s) with auth material\n  ${lines.join('\n  ')}`,
    {
      findings: findings.map((f) => ({ path: f.path, kind: f.kind, reason: f.reason })),
    },
  );
}
