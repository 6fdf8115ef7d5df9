import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Published vectors live beside the repository in ../shared/vectors (see its README); tests read them from there. */
export const VECTORS_DIR = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));

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
