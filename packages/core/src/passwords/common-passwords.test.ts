import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMON_PASSWORD_ENTRIES } from './lib/common-passwords.generated.js';

const script = fileURLToPath(new URL('../../scripts/gen-common-passwords.mjs', import.meta.url));

describe('the generated common-password module', () => {
  it('holds exactly the entries of common-passwords.txt, in order', () => {
    const text = readFileSync(new URL('./lib/common-passwords.txt', import.meta.url), 'utf8');
    const entries = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(entries.length).toBeGreaterThanOrEqual(1000);
    expect([...COMMON_PASSWORD_ENTRIES]).toEqual(entries);
  });

  it('is what the generator writes today (edit the .txt, then run the generator)', () => {
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
