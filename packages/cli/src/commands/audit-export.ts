import { once } from 'node:events';
import type { Database } from '@rampart/server';
import { loadServer } from '../server.js';

/** Streams an org's audit log to `out`, honouring back-pressure so memory stays flat for any log size. */
export async function exportAudit(
  db: Database,
  orgId: string,
  format: 'ndjson' | 'csv',
  out: NodeJS.WritableStream,
): Promise<void> {
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  const { csvHeader, csvLine, iterateAudit, ndjsonLine } = await loadServer();
  if (format === 'csv') await write(csvHeader());
  for await (const e of iterateAudit(db, orgId)) await write(format === 'csv' ? csvLine(e) : ndjsonLine(e));
}
