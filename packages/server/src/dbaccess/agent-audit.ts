import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';

/** One line of the agent's local audit file (JSON Lines): what was asked and what came of it, never row data. */
export interface AgentAuditEntry {
  at: string;
  /** SHA-256 (hex) of the SQL text as received. */
  sqlHash: string;
  /** The SQL text as the server sent it, so the customer sees exactly what was read. */
  sql: string;
  /** How many parameters were bound (their values are not recorded). */
  params: number;
  rowCount: number;
  truncated: boolean;
  /** `ok`, or the error code (`query_not_allowed`, `upstream_timeout`, ...). */
  outcome: string;
  /** Why it was refused or failed, when it was. */
  reason?: string;
  durationMs: number;
}

export interface AgentAudit {
  /** Appends one line; throws when the line could not be written (the agent then refuses to answer). */
  append(entry: Omit<AgentAuditEntry, 'at' | 'sqlHash'>): void;
  close(): void;
}

export const sqlHash = (sql: string): string => createHash('sha256').update(sql).digest('hex');

/**
 * Opens (creating it 0600 if needed) the agent's append-only audit file: O_APPEND, so every line lands at the
 * end whatever else holds the file, and the agent never truncates or rewrites it. A file readable by others is
 * narrowed to 0600.
 */
export function openAgentAudit(file: string): AgentAudit {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  let open = true;
  return {
    append: (entry) => {
      if (!open) throw new Error('the audit file is closed');
      const line = `${JSON.stringify({ at: new Date().toISOString(), sqlHash: sqlHash(entry.sql), ...entry })}\n`;
      writeSync(fd, line);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
