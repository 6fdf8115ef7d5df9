import { readFileSync } from 'node:fs';

// Resolved through src/ from both src/passwords/lib/ and dist/passwords/lib/ (tsc does not copy .txt files).
const LIST_URL = new URL('../../../src/passwords/lib/common-passwords.txt', import.meta.url);

let list: ReadonlySet<string> | undefined;

/**
 * The bundled common-password list as a set of lower-case NFKC strings, read from disk once, on first use, so
 * importing the module costs nothing.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (list === undefined) {
    const entries = readFileSync(LIST_URL, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.normalize('NFKC').toLowerCase());
    list = new Set(entries);
  }
  return list;
}
