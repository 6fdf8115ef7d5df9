import type { Database } from './database.js';

/**
 * The tables that grow with use, ANALYZEd on the maintenance cadence under PGlite. PGlite runs no autovacuum
 * daemon, so without this the planner never gets statistics there: every table looks empty (reltuples -1)
 * however large it grows, and plans over audit_log and the other big tables go bad (see verifyChain's note).
 * PostgreSQL's autovacuum analyzes by itself; the sweep does nothing there.
 */
export const ANALYZED_TABLES = [
  'audit_log',
  'audit_heads',
  'account_events',
  'runtime_telemetry',
  'jobs',
  'job_runs',
  'mail_outbox',
  'widget_chunks',
  'widget_documents',
  'widget_messages',
  'widget_visitors',
  'org_usage',
  'billing_events',
  'refresh_families',
  'refresh_tokens',
  'users',
  'memberships',
  'api_keys',
  'org_secrets',
] as const;

/**
 * Runs ANALYZE on {@link ANALYZED_TABLES} when the engine is PGlite (as the owner: only a table's owner may
 * analyze it; ANALYZE reads a sample of the heap and returns no rows, so row-level security is not involved).
 * @returns whether it ran
 */
export async function analyzeIfEmbedded(db: Database): Promise<boolean> {
  if (db.engine !== 'pglite') return false;
  await db.owner((q) => q.exec(`ANALYZE ${ANALYZED_TABLES.join(', ')}`));
  return true;
}
