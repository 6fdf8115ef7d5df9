import { once } from 'node:events';
import { csvHeader, csvLine, type Database, iterateAudit, ndjsonLine } from '@rampart/server';

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
  if (format === 'csv') await write(csvHeader());
  for await (const e of iterateAudit(db, orgId)) await write(format === 'csv' ? csvLine(e) : ndjsonLine(e));
}
