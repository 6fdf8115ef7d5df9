import { describe, expect, it } from 'vitest';
import { comparePaths, MAX_PATH_BYTES, packagePathProblem, pathCollisions } from './paths.js';

describe('packagePathProblem: accepted paths', () => {
  it.each([
    'a',
    'README.md',
    'steps/login.json',
    'steps/checkout/02-pay.yaml',
    'assets/logo.png',
    'a.b.c/d_e-f/g~h',
    'console.json', // starts like "con" but is not a device name
    'comics/lpt.txt',
    'café.json', // precomposed é (NFC)
    '日本語/手順.json',
    'Ünïcödé/naïve résumé.md',
    '😀/～.json',
    '.hidden', // a leading dot is allowed in a path (only skill names forbid it)
  ])('%j', (path) => {
    expect(packagePathProblem(path)).toBeNull();
  });

  it('a segment of exactly 255 bytes and a path of exactly MAX_PATH_BYTES bytes', () => {
    expect(MAX_PATH_BYTES).toBe(1024);
    expect(packagePathProblem('a'.repeat(255))).toBeNull();
    const exact = ['a'.repeat(200), 'b'.repeat(200), 'c'.repeat(200), 'd'.repeat(200), 'e'.repeat(220)].join(
      '/',
    );
    expect(Buffer.byteLength(exact)).toBe(1024);
    expect(packagePathProblem(exact)).toBeNull();
  });
});

describe('packagePathProblem: refused paths', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['absolute', '/abs', /absolute/],
    ['absolute nested', '/etc/passwd', /absolute/],
    ['parent', '../x', /"\." or "\.\."/],
    ['parent in the middle', 'a/../b', /"\." or "\.\."/],
    ['trailing parent', 'a/..', /"\." or "\.\."/],
    ['current dir', './a', /"\." or "\.\."/],
    ['current dir inside', 'a/./b', /"\." or "\.\."/],
    ['double slash', 'a//b', /empty segment/],
    ['trailing slash', 'a/', /empty segment/],
    ['backslash', 'a\\b', /control character or one of/],
    ['backslash parent', '..\\x', /control character or one of/],
    ['NUL', 'a\u0000b', /control character/],
    ['newline', 'a\nb.json', /control character/],
    ['tab', 'a\tb', /control character/],
    ['DEL', 'a\u007fb', /control character/],
    ['C1 control', 'a\u0085b', /control character/],
    ['drive letter', 'C:x', /one of/],
    ['drive path', 'C:/x', /one of/],
    ['alternate data stream', 'a.json:stream', /one of/],
    ['star', 'a*.json', /one of/],
    ['question mark', 'a?.json', /one of/],
    ['quote', 'a".json', /one of/],
    ['less than', 'a<b', /one of/],
    ['greater than', 'a>b', /one of/],
    ['pipe', 'a|b', /one of/],
    ['NFD name', 'e\u0301.json', /NFC/],
    ['NFD nested', 'dir/cafe\u0301.json', /NFC/],
    ['device con.json', 'con.json', /reserved device name/],
    ['device NUL', 'NUL', /reserved device name/],
    ['device com1.txt', 'com1.txt', /reserved device name/],
    ['device LPT9 nested', 'a/LPT9.log', /reserved device name/],
    ['device as directory', 'aux/readme.md', /reserved device name/],
    ['device prn', 'Prn.tar.gz', /reserved device name/],
    ['trailing dot', 'file.', /ends with a space or a dot/],
    ['trailing dot directory', 'dir./x', /ends with a space or a dot/],
    ['trailing space', 'file ', /ends with a space or a dot/],
    ['trailing space directory', 'dir /x', /ends with a space or a dot/],
    ['segment of 256 bytes', 'a'.repeat(256), /segment is longer than 255 bytes/],
    ['segment of 256 UTF-8 bytes (128 chars)', `d/${'é'.repeat(128)}`, /segment is longer than 255 bytes/],
    [
      'path of 1025 bytes',
      ['a'.repeat(200), 'b'.repeat(200), 'c'.repeat(200), 'd'.repeat(200), 'e'.repeat(221)].join('/'),
      /longer than 1024 bytes/,
    ],
    ['path far too long', 'a/'.repeat(600), /longer than 1024 bytes/],
  ];

  it.each(refused)('%s', (_label, path, why) => {
    const problem = packagePathProblem(path);
    expect(problem).not.toBeNull();
    expect(problem).toMatch(why);
  });
});

describe('comparePaths', () => {
  it('orders by UTF-8 bytes, not by UTF-16 code units or locale', () => {
    // U+FF5E is EF BD 9E in UTF-8; U+1F600 is F0 9F 98 80. In UTF-16 the surrogate D83D sorts first.
    const paths = ['😀.json', '～.json', 'é.json', 'z.json', 'a/b', 'a-b', 'B', 'a'];
    expect([...paths].sort()).not.toEqual([...paths].sort(comparePaths));
    expect([...paths].sort(comparePaths)).toEqual([
      'B',
      'a',
      'a-b',
      'a/b',
      'z.json',
      'é.json',
      '～.json',
      '😀.json',
    ]);
  });

  it('is a total order consistent with equality', () => {
    expect(comparePaths('a', 'a')).toBe(0);
    expect(Math.sign(comparePaths('a', 'b'))).toBe(-1);
    expect(Math.sign(comparePaths('b', 'a'))).toBe(1);
    expect(Math.sign(comparePaths('a', 'a/b'))).toBe(-1);
  });
});

describe('pathCollisions', () => {
  it('finds names that differ only by letter case', () => {
    expect(pathCollisions(['A.json', 'a.json'])).toEqual([['A.json', 'a.json']]);
    expect(pathCollisions(['dir/Readme.md', 'DIR/README.MD'])).toEqual([['dir/Readme.md', 'DIR/README.MD']]);
    expect(pathCollisions(['É.json', 'é.json'])).toHaveLength(1);
  });

  it('finds a file that another path uses as a directory, whatever the order or case', () => {
    expect(pathCollisions(['a', 'a/b'])).toEqual([['a', 'a/b']]);
    expect(pathCollisions(['a/b', 'a'])).toEqual([['a', 'a/b']]);
    expect(pathCollisions(['x/y', 'x/y/z/w.json'])).toEqual([['x/y', 'x/y/z/w.json']]);
    expect(pathCollisions(['A', 'a/b'])).toHaveLength(1);
  });

  it('is empty for distinct, non-overlapping paths', () => {
    expect(pathCollisions([])).toEqual([]);
    expect(pathCollisions(['a/b', 'a/c', 'ab', 'a-b', 'b/a'])).toEqual([]);
    expect(pathCollisions(['a.json', 'a.json.bak', 'a/json'])).toEqual([]);
  });
});
