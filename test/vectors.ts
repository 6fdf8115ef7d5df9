import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Published vectors copied into the repository (test/vectors/README.md has their source and license). */
export const VECTORS_DIR = fileURLToPath(new URL('./vectors/', import.meta.url));

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
  [field: string]: unknown;
}
export interface WycheproofGroup {
  tests: WycheproofTest[];
  [field: string]: unknown;
}
export interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

/** Reads one Wycheproof file, e.g. `wycheproof/aes_gcm_test.json`. */
export function loadWycheproof(name: string): WycheproofFile {
  return JSON.parse(readFileSync(`${VECTORS_DIR}${name}`, 'utf8')) as WycheproofFile;
}

export const hex = (s: unknown): Buffer => Buffer.from(String(s), 'hex');
