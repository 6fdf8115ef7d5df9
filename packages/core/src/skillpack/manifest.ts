import { SkillPackError } from './errors.js';
import { comparePaths, packagePathProblem, pathCollisions } from './paths.js';

export const MANIFEST_FORMAT = 'rampart-skill/1';
/** Lower-case so that a skill's install directory is the same on case-insensitive filesystems. */
export const SKILL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Versions are positive integers: "newer" is plain `>`, with none of semver's pre-release ambiguity. */
export const MAX_VERSION = 2_147_483_647;
export const MAX_FILES = 10_000;

export interface ManifestFile {
  path: string;
  size: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  version: number;
  files: ManifestFile[];
}

/** Why a skill name is unusable, or `null`. */
export function skillNameProblem(name: string): string | null {
  return SKILL_NAME.test(name)
    ? null
    : 'a skill name is 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit';
}

/** Why a version is unusable, or `null`. */
export function versionProblem(version: number): string | null {
  return Number.isSafeInteger(version) && version >= 1 && version <= MAX_VERSION
    ? null
    : `a version is a whole number from 1 to ${MAX_VERSION}`;
}

/**
 * The one byte encoding of a manifest: fixed key order, files sorted by path bytes, no whitespace. Signing these
 * bytes (not a re-serialisation of parsed JSON) and refusing any other spelling on read means a manifest has
 * exactly one valid form: no duplicate keys, no reordered files, nothing for two parsers to disagree on.
 */
export function encodeManifest(m: Manifest): Buffer {
  const files = [...m.files].sort((a, b) => comparePaths(a.path, b.path));
  return Buffer.from(
    JSON.stringify({
      format: m.format,
      name: m.name,
      version: m.version,
      files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    }),
    'utf8',
  );
}

const bad = (message: string, details: Record<string, unknown> = {}) =>
  new SkillPackError('malformed_manifest', message, details);

/**
 * Checks a manifest's fields (name, version, paths, sizes, hashes, duplicates and collisions).
 * @throws {SkillPackError} `malformed_manifest` naming the first problem.
 */
export function checkManifest(m: Manifest): void {
  if (m.format !== MANIFEST_FORMAT) throw bad(`unknown manifest format (expected ${MANIFEST_FORMAT})`);
  const nameIssue = skillNameProblem(m.name);
  if (nameIssue) throw bad(nameIssue);
  const versionIssue = versionProblem(m.version);
  if (versionIssue) throw bad(versionIssue);
  if (m.files.length === 0) throw bad('the package holds no files');
  if (m.files.length > MAX_FILES) throw bad(`the package holds more than ${MAX_FILES} files`);
  for (const f of m.files) {
    const problem = packagePathProblem(f.path);
    if (problem) throw bad(`bad path "${f.path}": ${problem}`, { path: f.path });
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw bad(`bad size for "${f.path}"`, { path: f.path });
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`bad sha256 for "${f.path}"`, { path: f.path });
  }
  const paths = m.files.map((f) => f.path);
  if (new Set(paths).size !== paths.length) throw bad('a path is listed twice');
  const collision = pathCollisions(paths)[0];
  if (collision)
    throw bad(
      `"${collision[0]}" and "${collision[1]}" collide (letter case, or a file used as a directory)`,
      {
        paths: collision,
      },
    );
}

/**
 * Parses manifest bytes, accepting only the canonical encoding of a valid manifest.
 * @throws {SkillPackError} `malformed_manifest`.
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('the manifest is not JSON');
  }
  const o = doc as Partial<Manifest> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.name !== 'string' ||
    typeof o.version !== 'number' ||
    !Array.isArray(o.files) ||
    !o.files.every(
      (f) =>
        typeof f === 'object' &&
        f !== null &&
        typeof f.path === 'string' &&
        typeof f.size === 'number' &&
        typeof f.sha256 === 'string',
    )
  )
    throw bad('the manifest does not have the fields format, name, version and files');
  const m = o as Manifest;
  checkManifest(m);
  if (!encodeManifest(m).equals(Buffer.from(bytes)))
    throw bad(
      'the manifest is not in canonical form (fields, order or spacing differ from what pack writes)',
    );
  return m;
}
