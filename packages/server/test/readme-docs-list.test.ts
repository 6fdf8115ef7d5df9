/**
 * The README's "Documentation" list is the way in to docs/: every docs/*.md file is listed (DBACCESS.md once was
 * not), and nothing is listed that does not exist, so a renamed or deleted document breaks this test. No document
 * describes itself as "(in progress)" or defers to "later issues" or to what comes "as they land": they say
 * what exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(`${ROOT}README.md`, 'utf8');

describe('README documentation list and docs/*.md', () => {
  const section = README.split('\n## Documentation\n')[1]?.split('\n## ')[0] ?? '';
  const links = [...section.matchAll(/^- \[docs\/([^\]]+\.md)\]\(docs\/([^)]+)\)/gm)];
  const listed = links.map((m) => m[1] as string);
  const files = readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md'));

  it('lists every docs/*.md file', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => !listed.includes(f))).toEqual([]);
  });

  it('lists nothing that does not exist, and nothing twice', () => {
    expect(listed.filter((f) => !files.includes(f))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
    for (const m of links) expect(m[2], 'link text and target agree').toBe(m[1]);
  });

  it('also lists the root documents (CONTRIBUTING.md, SECURITY.md), and they exist', () => {
    const root = [...section.matchAll(/^- \[([A-Z_-]+\.md)\]\(([^)]+)\)/gm)].map((m) => [m[1], m[2]]);
    expect(root).toEqual([
      ['CONTRIBUTING.md', 'CONTRIBUTING.md'],
      ['SECURITY.md', 'SECURITY.md'],
    ]);
    for (const [file] of root) expect(existsSync(`${ROOT}${file}`), file).toBe(true);
  });

  it('has no "(in progress)" or "later issues" wording left in README.md or docs/*.md', () => {
    const stale = ['README.md', ...files.map((f) => `docs/${f}`)].flatMap((f) =>
      readFileSync(`${ROOT}${f}`, 'utf8')
        .split('\n')
        .filter((l) => /\(in progress\)|later issues?\b|as they land/i.test(l))
        .map((l) => `${f}: ${l.trim()}`),
    );
    expect(stale).toEqual([]);
  });
});
