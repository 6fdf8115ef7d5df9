/**
 * Package paths: relative, `/`-separated, portable. A path that some filesystem would read differently (a `..`
 * segment, a backslash, a drive letter, a control character, a name that differs only by Unicode normalisation or
 * letter case from another) is refused, so what a runtime installs is byte-for-byte what the builder signed,
 * wherever it is unpacked.
 */

export const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
// Windows device names: a file called `con.json` cannot be created there.
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
// C0/C1 controls, DEL, and characters Windows forbids in names.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\\:*?"<>|]/;

/**
 * Why `path` is not a valid package path, or `null` when it is.
 * @example packagePathProblem('steps/login.json') // null
 * @example packagePathProblem('../etc/passwd')    // 'a path segment is "." or ".."'
 */
export function packagePathProblem(path: string): string | null {
  if (path.length === 0) return 'the path is empty';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES)
    return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.normalize('NFC') !== path) return 'the name is not in Unicode NFC form (rename the file)';
  if (path.startsWith('/')) return 'the path is absolute';
  if (FORBIDDEN.test(path)) return 'the path holds a control character or one of \\ : * ? " < > |';
  for (const segment of path.split('/')) {
    if (segment === '') return 'the path has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return 'a path segment is "." or ".."';
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
    if (RESERVED.test(segment)) return `"${segment}" is a reserved device name on Windows`;
    if (/[ .]$/.test(segment)) return 'a path segment ends with a space or a dot';
  }
  return null;
}

/** Sorts paths by their UTF-8 bytes: the same order on every machine and in every locale. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Pairs of paths that would land on the same file on a case-insensitive filesystem (macOS, Windows), or where
 * one path is a file and another uses it as a directory.
 */
export function pathCollisions(paths: readonly string[]): Array<[string, string]> {
  const seen = new Map<string, string>();
  const out: Array<[string, string]> = [];
  for (const p of paths) {
    const folded = p.toLowerCase();
    const prior = seen.get(folded);
    if (prior !== undefined) out.push([prior, p]);
    else seen.set(folded, p);
  }
  const files = new Set(paths.map((p) => p.toLowerCase()));
  for (const p of paths) {
    const segments = p.toLowerCase().split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (files.has(dir)) out.push([dir, p]);
    }
  }
  return out;
}
