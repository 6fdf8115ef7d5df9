import { readFileSync, statSync } from 'node:fs';
import type { NoticeDetail, NoticeSummary } from '@rampart/server';
import type { Command } from 'commander';
import { loadServer } from '../server.js';
import type { withDatabase as WithDatabase } from './admin.js';
import { runCommand, UsageError } from './common.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY_BYTES = 80_000;

/** The notice text from --body-file: a clear usage error when it is missing, not a file, empty or too long. */
function readBody(file: string): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UsageError(`--body-file ${file}: not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--body-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
  if (size > MAX_BODY_BYTES) throw new UsageError(`--body-file ${file}: longer than 20000 characters`);
  const text = readFileSync(file, 'utf8');
  if (!text.trim()) throw new UsageError(`--body-file ${file}: the file is empty`);
  return text;
}

/** `--orgs all` or a comma-separated list of org ids. */
function parseOrgs(value: string): string[] | 'all' {
  if (value.trim() === 'all') return 'all';
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!ids.length) throw new UsageError('--orgs needs "all" or a comma-separated list of org ids');
  const bad = ids.filter((id) => !UUID.test(id));
  if (bad.length) throw new UsageError(`--orgs: not an org id: ${bad.slice(0, 5).join(', ')}`);
  return ids;
}

const statusLine = (n: NoticeSummary) =>
  `queued ${n.status.queued}  sent ${n.status.sent}  failed ${n.status.failed}` +
  (n.status.expired ? `  expired ${n.status.expired}` : '');

function showNotice(n: NoticeDetail): string {
  const out = [
    `notice   ${n.noticeId}`,
    `subject  ${n.subject}`,
    `sent     ${n.createdAt} by ${n.createdByEmail ?? (n.createdBy ? n.createdBy : 'rampart admin notify')}`,
    `orgs     ${n.orgs}${n.allOrgs ? ' (all)' : ''}  recipients ${n.recipients}`,
    `status   ${statusLine(n)}`,
    '',
  ];
  for (const o of n.perOrg)
    out.push(
      `${o.orgId}  recipients ${o.recipients}  queued ${o.queued}  sent ${o.sent}  failed ${o.failed}  ${o.name}`,
    );
  return out.join('\n');
}

export function registerAdminNotices(admin: Command, withDatabase: typeof WithDatabase): void {
  admin
    .command('notify')
    .description(
      'mail an incident notice to every owner and admin of the chosen orgs, through the mail outbox (one transaction)',
    )
    .requiredOption('--orgs <ids>', '"all" or comma-separated org ids')
    .requiredOption('--subject <text>', 'the subject line (1-200 characters)')
    .requiredOption('--body-file <file>', 'the notice text, plain text (1-20000 characters)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { orgs: string; subject: string; bodyFile: string; json?: boolean }) => {
      // The flags and the file first: a typo answers at once, without loading the server.
      let given: { orgIds: string[] | 'all'; body: string } | undefined;
      await runCommand(async () => {
        given = { orgIds: parseOrgs(opts.orgs), body: readBody(opts.bodyFile) };
        return undefined;
      });
      if (!given) return;
      const { loadConfig, noticeInput, sendNotice } = await loadServer();
      loadConfig(process.env);
      await runCommand(async () => {
        const parsed = noticeInput.safeParse({ ...given, subject: opts.subject });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const field = { orgIds: '--orgs', subject: '--subject', body: '--body-file' }[
            String(issue?.path[0]) as 'orgIds'
          ];
          throw new UsageError(`${field ?? 'input'}: ${issue?.message ?? 'invalid'}`);
        }
        const input = parsed.data;
        process.stderr.write(
          `queueing the notice for the owners and admins of ${input.orgIds === 'all' ? 'every org' : `${input.orgIds.length} org(s)`}\n`,
        );
        const sent = await withDatabase(async (db, ring) => {
          let last = 0;
          try {
            return await sendNotice(db, ring, { userId: null, requestId: 'cli' }, input, (done, total) => {
              // Every org, or every 100th of a long list, then the last.
              if (total <= 20 || done - last >= 100 || done === total) {
                process.stderr.write(`  org ${done}/${total} queued\n`);
                last = done;
              }
            });
          } catch (err) {
            const e = err as { code?: string; details?: { orgIds?: string[] } };
            if (e.code === 'not_found')
              throw new UsageError(
                `no org with id ${(e.details?.orgIds ?? []).join(', ')}: nothing was queued`,
              );
            throw err;
          }
        });
        if (opts.json) return JSON.stringify(sent);
        return (
          `notice ${sent.noticeId}: queued ${sent.recipients} mail(s) to the owners and admins of ${sent.orgs} org(s)\n` +
          `follow delivery with: rampart admin notices ${sent.noticeId}`
        );
      });
    });

  admin
    .command('notices')
    .description('incident notices, newest first, with delivery status; with an id, that notice per org')
    .argument('[id]', 'a notice id')
    .option('--limit <n>', 'at most this many notices (1-500)', '50')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, opts: { limit: string; json?: boolean }) => {
      const { getNotice, listNotices, loadConfig } = await loadServer();
      loadConfig(process.env);
      await runCommand(async () => {
        if (id !== undefined) {
          if (!UUID.test(id)) throw new UsageError(`not a notice id: ${id.slice(0, 60)}`);
          const n = await withDatabase(async (db) => {
            try {
              return await getNotice(db, id.toLowerCase());
            } catch (err) {
              if ((err as { code?: string }).code === 'not_found') throw new Error(`no notice ${id}`);
              throw err;
            }
          });
          return opts.json ? JSON.stringify({ notice: n }) : showNotice(n);
        }
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new UsageError('--limit must be a whole number from 1 to 500');
        const notices = await withDatabase((db) => listNotices(db, { limit }));
        if (opts.json) return JSON.stringify({ notices });
        if (!notices.length) return 'no notices';
        return notices
          .map(
            (n) =>
              `${n.noticeId}  ${n.createdAt}  orgs ${n.orgs}${n.allOrgs ? ' (all)' : ''}  recipients ${n.recipients}  ${statusLine(n)}\n  ${n.subject}`,
          )
          .join('\n');
      });
    });
}
