import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SkillPackError } from './errors.js';
import {
  decodeManifest,
  encodeManifest,
  MANIFEST_FORMAT,
  MAX_VERSION,
  type Manifest,
  type ManifestFile,
  skillNameProblem,
  versionProblem,
} from './manifest.js';
import { comparePaths, packagePathProblem } from './paths.js';

const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const file = (path: string, size = 1, sha256 = A): ManifestFile => ({ path, size, sha256 });
const manifest = (files: ManifestFile[], over: Partial<Manifest> = {}): Manifest => ({
  format: MANIFEST_FORMAT,
  name: 'demo',
  version: 1,
  files,
  ...over,
});
const bytes = (doc: unknown) => Buffer.from(JSON.stringify(doc), 'utf8');
const raw = (text: string) => Buffer.from(text, 'utf8');

/** Runs decodeManifest expecting `malformed_manifest`; `why` pins which check fired. */
function refused(input: Uint8Array, why: RegExp): SkillPackError {
  try {
    decodeManifest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SkillPackError);
    const e = err as SkillPackError;
    expect(e.code).toBe('malformed_manifest');
    expect(e.message).toMatch(why);
    return e;
  }
  throw new Error('expected decodeManifest to refuse');
}

describe('encodeManifest', () => {
  it('writes exactly the canonical bytes: fixed key order, files sorted by UTF-8 bytes, no whitespace', () => {
    const m = manifest(
      [file('é.json', 3, C), file('a/b.json', 1, A), file('B.md', 0, EMPTY_SHA), file('a-b.json', 2, B)],
      { name: 'demo', version: 3 },
    );
    const expected =
      '{"format":"rampart-skill/1","name":"demo","version":3,"files":[' +
      '{"path":"B.md","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},' +
      `{"path":"a-b.json","size":2,"sha256":"${B}"},` +
      `{"path":"a/b.json","size":1,"sha256":"${A}"},` +
      `{"path":"é.json","size":3,"sha256":"${C}"}]}`;
    expect(encodeManifest(m).toString('utf8')).toBe(expected);
    expect(encodeManifest(m).equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(decodeManifest(encodeManifest(m)).files.map((f) => f.path)).toEqual([
      'B.md',
      'a-b.json',
      'a/b.json',
      'é.json',
    ]);
  });

  it('gives the same bytes for any input order, and sorts by bytes rather than UTF-16', () => {
    const files = [file('😀.json'), file('～.json'), file('z.json'), file('Z.json', 2)];
    const ref = encodeManifest(manifest(files));
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
      [2, 0, 3, 1],
    ]) {
      expect(encodeManifest(manifest(order.map((i) => files[i] as ManifestFile))).equals(ref)).toBe(true);
    }
    const paths = (JSON.parse(ref.toString('utf8')) as Manifest).files.map((f) => f.path);
    expect(paths).toEqual(['Z.json', 'z.json', '～.json', '😀.json']);
  });

  it('drops fields a caller added and does not mutate its input', () => {
    const f = { ...file('x.json'), extra: 'no' } as ManifestFile;
    const m = { ...manifest([file('y.json'), f]), more: 1 } as Manifest;
    const text = encodeManifest(m).toString('utf8');
    expect(text).not.toContain('extra');
    expect(text).not.toContain('more');
    expect(m.files.map((x) => x.path)).toEqual(['y.json', 'x.json']);
  });
});

describe('skillNameProblem / versionProblem', () => {
  it('accepts 1 to 63 lower-case characters and versions 1 to 2^31-1', () => {
    for (const n of ['a', '0', 'login-flow', 'a.b_c-d', 'a'.repeat(63)])
      expect(skillNameProblem(n)).toBeNull();
    for (const v of [1, 2, MAX_VERSION]) expect(versionProblem(v)).toBeNull();
    expect(MAX_VERSION).toBe(2 ** 31 - 1);
  });
});

describe('decodeManifest: refusals', () => {
  const good = manifest([file('a.json'), file('b/c.json', 2, B)]);

  it('accepts the canonical encoding of a valid manifest', () => {
    expect(decodeManifest(encodeManifest(good))).toEqual(good);
  });

  it.each([
    ['empty input', ''],
    ['not JSON', 'hello'],
    ['truncated JSON', encodeManifest(good).toString('utf8').slice(0, -1)],
  ])('non-JSON: %s', (_label, text) => {
    refused(raw(text), /not JSON/);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [good]],
    ['a string', 'manifest'],
    ['a number', 1],
    ['no name', { format: MANIFEST_FORMAT, version: 1, files: good.files }],
    ['no version', { format: MANIFEST_FORMAT, name: 'demo', files: good.files }],
    ['no files', { format: MANIFEST_FORMAT, name: 'demo', version: 1 }],
    ['files not an array', { ...good, files: { 'a.json': good.files[0] } }],
    ['version as a string', { ...good, version: '1' }],
    ['a file without sha256', { ...good, files: [{ path: 'a.json', size: 1 }] }],
    ['a file with a string size', { ...good, files: [{ path: 'a.json', size: '1', sha256: A }] }],
    ['a file that is null', { ...good, files: [null] }],
  ])('missing or mistyped fields: %s', (_label, doc) => {
    refused(bytes(doc), /does not have the fields/);
  });

  it.each<[string, unknown]>([
    ['no format', { name: 'demo', version: 1, files: good.files }],
    ['format 2', { ...good, format: 'rampart-skill/2' }],
    ['format case', { ...good, format: 'Rampart-Skill/1' }],
  ])('wrong format string: %s', (_label, doc) => {
    refused(bytes(doc), /unknown manifest format/);
  });

  it.each(['Login', 'UPPER', '.hidden', '-dash', '_under', 'a'.repeat(64), '', 'has space', 'a/b', 'ü'])(
    'bad name %j',
    (name) => {
      refused(bytes(manifest(good.files, { name })), /skill name/);
    },
  );

  it.each([0, -1, 1.5, 2 ** 31, 2 ** 53, 1e300])('bad version %d', (version) => {
    refused(bytes(manifest(good.files, { version })), /version/);
  });

  it('no files at all', () => {
    refused(bytes(manifest([])), /no files/);
  });

  it('a bad path', () => {
    const e = refused(bytes(manifest([file('../x.json')])), /bad path/);
    expect(e.details).toEqual({ path: '../x.json' });
  });

  it('a duplicate path', () => {
    refused(bytes(manifest([file('a.json'), file('a.json', 2, B)])), /listed twice/);
  });

  it('a case-insensitive collision', () => {
    const e = refused(bytes(manifest([file('A.json'), file('a.json')])), /collide/);
    expect(e.details).toEqual({ paths: ['A.json', 'a.json'] });
  });

  it('a file used as a directory', () => {
    refused(bytes(manifest([file('a'), file('a/b')])), /collide/);
    refused(bytes(manifest([file('Docs'), file('docs/x.md')])), /collide/);
  });

  it.each([
    ['upper-case hex', 'A'.repeat(64)],
    ['63 chars', 'a'.repeat(63)],
    ['65 chars', 'a'.repeat(65)],
    ['non-hex', 'g'.repeat(64)],
    ['empty', ''],
    ['base64', Buffer.alloc(32).toString('base64')],
  ])('bad sha256: %s', (_label, sha256) => {
    refused(bytes(manifest([file('a.json', 1, sha256)])), /bad sha256/);
  });

  it.each([-1, 1.5, 2 ** 53])('bad size %d', (size) => {
    refused(bytes(manifest([file('a.json', size)])), /bad size/);
  });

  describe('any non-canonical spelling of a valid manifest', () => {
    const canonical = encodeManifest(good).toString('utf8');
    const cases: Array<[string, string]> = [
      ['pretty-printed', JSON.stringify(good, null, 2)],
      ['one extra space', canonical.replace('"name":', '"name": ')],
      ['leading whitespace', ` ${canonical}`],
      ['trailing newline', `${canonical}\n`],
      [
        'reordered top-level keys',
        JSON.stringify({ name: good.name, format: good.format, version: good.version, files: good.files }),
      ],
      [
        'reordered file keys',
        JSON.stringify({
          ...good,
          files: good.files.map((f) => ({ sha256: f.sha256, path: f.path, size: f.size })),
        }),
      ],
      ['unsorted files', JSON.stringify({ ...good, files: [...good.files].reverse() })],
      ['extra top-level field', JSON.stringify({ ...good, signedBy: 'me' })],
      ['extra file field', JSON.stringify({ ...good, files: good.files.map((f) => ({ ...f, mode: 420 })) })],
      ['duplicate key', canonical.replace('"name":"demo"', '"name":"other","name":"demo"')],
      ['escaped character', canonical.replace('"name":"demo"', '"name":"\\u0064emo"')],
      ['version as 1.0', canonical.replace('"version":1', '"version":1.0')],
      ['size as 1e0', canonical.replace('"size":1', '"size":1e0')],
    ];

    it.each(cases)('%s', (_label, text) => {
      expect(text).not.toBe(canonical);
      // It parses to the same manifest, yet is refused: only one byte spelling is ever valid.
      expect(JSON.parse(text)).toMatchObject({ name: 'demo', version: 1 });
      refused(raw(text), /canonical/);
    });

    it('invalid UTF-8 inside a string', () => {
      const buf = Buffer.from(encodeManifest(manifest([file('ab.json')])));
      const at = buf.indexOf('ab.json');
      buf[at + 1] = 0xff; // "a\xFF.json": decodes to U+FFFD, which re-encodes to different bytes
      refused(buf, /canonical/);
    });
  });
});

describe('round trip (property)', () => {
  // Directories never hold a dot and files always end in an extension, so a file never doubles as a directory;
  // case collisions are excluded by comparing lower-cased paths.
  const segment = fc
    .array(fc.constantFrom(...[...'abcxyzABZ019_-é日😀']), { minLength: 1, maxLength: 8 })
    .map((chars) => chars.join(''));
  const path = fc
    .tuple(fc.array(segment, { maxLength: 3 }), segment, fc.constantFrom('.json', '.md', '.yaml', '.js'))
    .map(([dirs, base, ext]) => [...dirs, base + ext].join('/'))
    .filter((p) => packagePathProblem(p) === null);
  const entry = fc.record({
    path,
    size: fc.nat({ max: 2 ** 40 }),
    sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
  });

  it('any set of distinct valid paths encodes and decodes back to the same manifest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { minLength: 1, maxLength: 25, selector: (f) => f.path.toLowerCase() }),
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/),
        fc.integer({ min: 1, max: MAX_VERSION }),
        (files, name, version) => {
          const m = manifest(files, { name, version });
          const encoded = encodeManifest(m);
          const decoded = decodeManifest(encoded);
          const sorted = [...files].sort((a, b) => comparePaths(a.path, b.path));
          expect(decoded).toEqual({ ...m, files: sorted });
          expect(encodeManifest(decoded).equals(encoded)).toBe(true);
          expect(encodeManifest(manifest([...files].reverse(), { name, version })).equals(encoded)).toBe(
            true,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
