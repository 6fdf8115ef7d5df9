/**
 * docs/THREAT_MODEL.md links each control to the test that proves it: every test file it names must exist (a
 * renamed or deleted test breaks the link, and this test), every surface has a STRIDE table, and the
 * "what an attacker gets" table covers the three levels of compromise and connection strings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Table cells are padded by the formatter: compare with runs of spaces collapsed.
const DOC = readFileSync(`${ROOT}docs/THREAT_MODEL.md`, 'utf8').replace(/ {2,}/g, ' ');

describe('docs/THREAT_MODEL.md', () => {
  it('names only test files that exist, and plenty of them', () => {
    const paths = [...DOC.matchAll(/`(packages\/[^`\s]+\.test\.ts)`/g)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.filter((p) => !existsSync(`${ROOT}${p}`))).toEqual([]);
  });

  it('has a STRIDE table for every surface, each row naming a test', () => {
    for (const surface of [
      'Identity and sessions',
      'Tenancy and the core',
      'LLM gateway',
      'Scheduled HTTP jobs',
      'Chat widget',
      'AI database access',
      'Skill packages and runtimes',
      'Dashboard',
    ]) {
      const section = DOC.split(`### ${surface}\n`)[1]?.split('\n### ')[0]?.split('\n## ')[0] ?? '';
      const rows = section.split('\n').filter((l) => /^\| [STRIDE] \|/.test(l));
      expect(rows.length, surface).toBeGreaterThan(1);
      for (const row of rows) expect(row, `${surface}: ${row}`).toMatch(/`packages\/[^`]+\.test\.ts`/);
    }
  });

  it('says what a dump, a dump with the master keys, and a full compromise give, including connection strings', () => {
    const table = DOC.split('## What an attacker gets')[1] ?? '';
    expect(table).toContain(
      '| a database dump alone | a database dump and the master keys | full compromise',
    );
    expect(table).toMatch(/customers' connection strings \(cloud mode\)/);
    expect(table).toMatch(/customers' connection strings \(agent mode\)/);
  });
});
