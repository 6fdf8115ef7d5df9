/**
 * Every setting the server reads is in the README's settings table, so an operator never has to read the
 * source to learn that a variable exists (RAMPART_PUBLIC_URL, which decides mail links and the dashboard's
 * origin, was once missing). Test-only settings are the one exception, and they must say so in config.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/platform/config.js';

const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
const CONFIG_SOURCE = readFileSync(
  fileURLToPath(new URL('../src/platform/config.ts', import.meta.url)),
  'utf8',
);
const TEST_ONLY = ['RAMPART_TEST_BCRYPT_COST'];

describe('README settings table', () => {
  const documented = new Set(
    README.split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => /^\| `([A-Z][A-Z0-9_]*)`/.exec(l)?.[1])
      .filter((k): k is string => k !== undefined),
  );

  it('lists every setting in the config schema', () => {
    const keys = Object.keys(configSchema.shape).filter((k) => !TEST_ONLY.includes(k));
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('lists nothing the server does not read', () => {
    const keys = new Set(Object.keys(configSchema.shape));
    // The CLI's own variables are documented in the same table.
    const cliOnly = [...documented].filter(
      (k) => !keys.has(k) && !/^RAMPART_(AGENT|CLI|RUNTIME)_|^RAMPART_ALLOW_INSECURE_HTTP$/.test(k),
    );
    expect(cliOnly).toEqual([]);
  });

  it('test-only settings say so where they are defined', () => {
    for (const k of TEST_ONLY) expect(CONFIG_SOURCE).toMatch(new RegExp(`Test-only[^]*?${k}`));
  });
});
