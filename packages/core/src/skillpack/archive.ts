import { extract, pack } from 'tar-stream';
import { SkillPackError } from './errors.js';

/** One regular file inside the package archive. */
export interface ArchiveEntry {
  name: string;
  bytes: Buffer;
}

// Every header field that could vary between machines is pinned: same entries in, same bytes out.
const FIXED = {
  mode: 0o644,
  mtime: new Date(0),
  uid: 0,
  gid: 0,
  uname: '',
  gname: '',
  type: 'file',
} as const;

/**
 * Writes entries, in the given order, as a deterministic POSIX tar (readable with `tar tf`). Long names use the
 * ustar prefix field or a pax header, both deterministic.
 */
export async function writeArchive(entries: readonly ArchiveEntry[]): Promise<Buffer> {
  const out = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of out) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      out.entry({ ...FIXED, name: e.name, size: e.bytes.length }, e.bytes, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  out.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Reads a tar holding regular files only. Anything else (directories, links, devices, FIFOs) is refused
 * outright: a package never needs them, and links are how archive extraction escapes its folder.
 * @throws {SkillPackError} `malformed_package` / `too_large`.
 */
export async function readArchive(bytes: Buffer, maxEntries: number): Promise<ArchiveEntry[]> {
  const input = extract();
  const entries: ArchiveEntry[] = [];
  input.end(bytes);
  try {
    for await (const entry of input) {
      const { name, type } = entry.header;
      if (type !== 'file') {
        entry.resume();
        throw new SkillPackError(
          'malformed_package',
          `the archive holds a ${type ?? 'non-file'} entry ("${name}"); packages hold regular files only`,
          {
            path: name,
          },
        );
      }
      if (entries.length >= maxEntries)
        throw new SkillPackError('too_large', `the archive holds more than ${maxEntries} entries`);
      const parts: Buffer[] = [];
      for await (const chunk of entry) parts.push(chunk as Buffer);
      entries.push({ name, bytes: Buffer.concat(parts) });
    }
  } catch (err) {
    input.destroy();
    if (err instanceof SkillPackError) throw err;
    throw new SkillPackError('malformed_package', 'the package is not a valid tar archive');
  }
  return entries;
}
