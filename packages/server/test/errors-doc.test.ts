/**
 * The error registry and its documentation stay in step (as fastify checks that each of its error codes is
 * documented): a code added to ERROR_STATUS without a row in docs/ERRORS.md, a row for a code that no longer
 * exists, or a status that differs, fails here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from '../src/platform/errors.js';

const DOC = fileURLToPath(new URL('../../../docs/ERRORS.md', import.meta.url));

/** Statuses the contract allows besides the registry's (API.md: "quota_exceeded (429 or 402)"). */
const ALTERNATE_STATUS: Partial<Record<ErrorCode, number[]>> = { quota_exceeded: [402] };

/**
 * The codes and statuses API.md (the contract outside clients rely on) lists. Copied here as data because the
 * contract lives outside this repository; a change to either side must be made on purpose.
 */
const CONTRACT: Record<string, number[]> = {
  validation_failed: [400],
  invalid_credentials: [401],
  unauthorized: [401],
  totp_required: [401],
  forbidden: [403],
  bot_check_failed: [403],
  origin_not_allowed: [403],
  not_found: [404],
  conflict: [409],
  payload_too_large: [413],
  quota_exceeded: [429, 402],
  rate_limited: [429],
  invalid_signature: [401],
  replayed: [409],
  query_not_allowed: [400],
  upstream_timeout: [504],
};

interface DocRow {
  code: string;
  statuses: number[];
  when: string;
  action: string;
}

/** The rows of the error table: `| \`code\` | 429 or 402 | when | what to do |`. */
function parseErrorTable(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*Code\s*\|\s*HTTP status\s*\|/i.test(l));
  if (header === -1) throw new Error('docs/ERRORS.md has no "| Code | HTTP status | ..." table');
  const rows: DocRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    const [codeCell = '', statusCell = '', when = '', action = ''] = cells;
    const code = /^`([a-z_]+)`$/.exec(codeCell)?.[1];
    if (!code) throw new Error(`malformed code cell in docs/ERRORS.md: ${line}`);
    rows.push({ code, statuses: (statusCell.match(/\d{3}/g) ?? []).map(Number), when, action });
  }
  return rows;
}

describe('docs/ERRORS.md', () => {
  const rows = parseErrorTable(readFileSync(DOC, 'utf8'));

  it('documents exactly the codes in the registry, each once', () => {
    const documented = rows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...Object.keys(ERROR_STATUS)].sort());
  });

  it("gives each code the registry's status first, and only the alternates the contract allows", () => {
    for (const row of rows) {
      const code = row.code as ErrorCode;
      expect(row.statuses, row.code).toEqual([ERROR_STATUS[code], ...(ALTERNATE_STATUS[code] ?? [])]);
    }
  });

  it('says when each error happens and what the client should do', () => {
    for (const row of rows) {
      expect(row.when.length, `${row.code}: when`).toBeGreaterThan(20);
      expect(row.action.length, `${row.code}: what to do`).toBeGreaterThan(10);
    }
  });

  it('parses the whole table (a row the parser skipped would hide an undocumented code)', () => {
    const tableLines = readFileSync(DOC, 'utf8')
      .split('\n')
      .filter((l) => /^\|\s*`/.test(l));
    expect(rows).toHaveLength(tableLines.length);
  });
});

describe('error registry', () => {
  it('ERROR_CODES lists every key of ERROR_STATUS', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('every status is a 4xx or 5xx', () => {
    for (const status of Object.values(ERROR_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it.each(Object.entries(CONTRACT))(
    'the contract code %s is in the registry with the contract status',
    (code, statuses) => {
      expect(Object.keys(ERROR_STATUS)).toContain(code);
      expect(statuses).toContain(ERROR_STATUS[code as ErrorCode]);
      expect(
        [ERROR_STATUS[code as ErrorCode], ...(ALTERNATE_STATUS[code as ErrorCode] ?? [])].sort(),
      ).toEqual([...statuses].sort());
    },
  );
});
