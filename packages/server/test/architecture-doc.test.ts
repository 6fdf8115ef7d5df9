/**
 * docs/ARCHITECTURE.md's layout block cannot drift from the tree. The rule: every package under packages/ has a
 * line `  <name>/` in the block, and every folder directly under packages/<name>/src appears as `<folder>/` in
 * that package's part of the block (dbaccess/, web/, the dashboard and the widget were once missing). Each entry
 * a line starts with (`seal/`, `src/db/`, `migrations/`, `bench/`) must exist. The identity section names every
 * credential kind the code issues.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TOKEN_KINDS } from '@rampart/core/apikeys';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = readFileSync(`${ROOT}docs/ARCHITECTURE.md`, 'utf8');
const LAYOUT = DOC.split('## Layout\n\n```\n')[1]?.split('```')[0] ?? '';
const dirs = (path: string) =>
  existsSync(path)
    ? readdirSync(path, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];

/** The block split by package: from a line `  <name>/` to the next line at column 0 or 2. */
function packageParts(): Map<string, string[]> {
  const parts = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of LAYOUT.split('\n')) {
    const pkg = /^ {2}([\w-]+)\/ /.exec(line);
    if (pkg) {
      current = [line.slice(pkg[0].length)];
      parts.set(pkg[1] as string, current);
    } else if (/^ {0,2}\S/.test(line)) current = null;
    else current?.push(line);
  }
  return parts;
}

describe('docs/ARCHITECTURE.md', () => {
  const parts = packageParts();
  const packages = dirs(`${ROOT}packages`);

  it('has a layout part for every package, and none for a package that does not exist', () => {
    expect(packages.length).toBeGreaterThan(4);
    expect(packages.filter((p) => !parts.has(p))).toEqual([]);
    expect([...parts.keys()].filter((p) => !packages.includes(p))).toEqual([]);
  });

  it("names every folder under each package's src/ in that package's part", () => {
    const missing: string[] = [];
    for (const pkg of packages) {
      const text = (parts.get(pkg) ?? []).join('\n');
      for (const dir of dirs(`${ROOT}packages/${pkg}/src`)) {
        if (!new RegExp(`(^|[\\s/])${dir}/`).test(text)) missing.push(`packages/${pkg}/src/${dir}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists only folders that exist', () => {
    const stale: string[] = [];
    for (const [pkg, lines] of parts) {
      for (const line of lines.slice(1)) {
        const entry = /^\s+((?:[\w-]+\/)+)(\s|$)/.exec(line)?.[1];
        if (entry === undefined) continue;
        const base = `${ROOT}packages/${pkg}/`;
        if (!existsSync(`${base}${entry}`) && !existsSync(`${base}src/${entry}`))
          stale.push(`${pkg}: ${entry}`);
      }
    }
    for (const line of LAYOUT.split('\n')) {
      const entry = /^([\w-]+\/)/.exec(line)?.[1];
      if (entry !== undefined && !existsSync(`${ROOT}${entry}`)) stale.push(entry);
    }
    expect(stale).toEqual([]);
  });

  it('names every credential kind: the session JWT, each token prefix, and agent tokens', () => {
    const identity = DOC.split('## Identity and authorisation\n')[1]?.split('\n## ')[0] ?? '';
    expect(identity).toContain('session JWTs');
    for (const kind of [...TOKEN_KINDS, 'ag']) expect(identity, kind).toContain(`\`${kind}_`);
  });
});
