import { COMMON_PASSWORD_ENTRIES } from './common-passwords.generated.js';

let list: ReadonlySet<string> | undefined;

/**
 * The bundled common-password list as a set of lower-case NFKC strings, built once, on first use, so importing
 * the module costs little. The entries come from common-passwords.txt through a generated module
 * (scripts/gen-common-passwords.mjs), so core reads no file at run time.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (list === undefined) {
    list = new Set(COMMON_PASSWORD_ENTRIES.map((line) => line.normalize('NFKC').toLowerCase()));
  }
  return list;
}
