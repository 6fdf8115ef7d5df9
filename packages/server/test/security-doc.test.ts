/**
 * docs/SECURITY-CONTROLS.md opens with a control table that indexes the document: one row per `## ` control section
 * (every section but "Fixed after review", which is a findings log with its own table), in the document's order,
 * its Control cell a link to that section, its Tests cell naming test files that exist. A new section without a
 * row (AI database access, mail, OIDC and more were once missing), a renamed heading that breaks a link, or a
 * deleted test all fail here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = readFileSync(`${ROOT}docs/SECURITY-CONTROLS.md`, 'utf8');

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

/** Whether a path from the table exists; `*` matches within the last segment (`packages/server/test/mail-*.test.ts`). */
function exists(path: string): boolean {
  if (!path.includes('*')) return existsSync(`${ROOT}${path}`);
  const dir = path.slice(0, path.lastIndexOf('/'));
  const name = new RegExp(
    `^${path
      .slice(dir.length + 1)
      .replace(/[.]/g, '\\.')
      .replace(/\*/g, '[^/]*')}$`,
  );
  return existsSync(`${ROOT}${dir}`) && readdirSync(`${ROOT}${dir}`).some((f) => name.test(f));
}

describe('docs/SECURITY-CONTROLS.md control table', () => {
  const sections = DOC.split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3))
    .filter((h) => h !== 'Fixed after review');
  const table =
    DOC.split('\n## ')[0]
      ?.split('\n')
      .filter((l) => l.startsWith('| [')) ?? [];
  const rows = table.map((l) => l.split(/\s*\|\s*/).slice(1, 4) as [string, string, string]);

  it('has one row per control section, in order, each linking to its section', () => {
    expect(sections.length).toBeGreaterThan(20);
    const links = rows.map(([control]) => /^\[[^\]]+\]\(#([^)]+)\)$/.exec(control)?.[1] ?? control);
    expect(links).toEqual(sections.map(anchor));
  });

  it('names code and tests in every row, and every path it names exists', () => {
    const missing: string[] = [];
    for (const [control, code, tests] of rows) {
      expect(tests, control).toMatch(/\.test\.ts`/);
      for (const m of `${code} ${tests}`.matchAll(/`([^`]+)`/g)) {
        if (!exists(m[1] as string)) missing.push(`${control}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
