import { hostname } from 'node:os';
import type { SmtpMailer } from '@rampart/server';
import type { Command } from 'commander';
import { loadServer } from '../server.js';
import type { withDatabase as WithDatabase } from './admin.js';
import { runCommand, UsageError } from './common.js';

/** What went wrong in an SMTP session, for an operator: class, reply code, the server's words. No password. */
function explain(stage: string, err: unknown): Error {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const hint =
    e?.code === 'EAUTH'
      ? 'authentication failed (check the user and password in RAMPART_SMTP_URL)'
      : e?.code === 'ETLS'
        ? 'TLS failed (off loopback, smtp:// needs STARTTLS; smtps:// needs TLS on connect)'
        : /ECONNREFUSED/.test(String(e?.message))
          ? 'connection refused'
          : typeof e?.responseCode === 'number' && e.responseCode >= 500
            ? 'refused permanently by the server'
            : typeof e?.responseCode === 'number'
              ? 'refused for now by the server (temporary)'
              : 'failed';
  const detail = [
    typeof e?.code === 'string' ? e.code : undefined,
    typeof e?.responseCode === 'number' ? `SMTP ${e.responseCode}` : undefined,
    typeof e?.message === 'string' ? e.message.replace(/\s+/g, ' ') : String(err),
  ]
    .filter(Boolean)
    .join(': ');
  return new Error(`mail test failed while ${stage}: ${hint}\n  ${detail}`);
}

export function registerAdminMail(admin: Command, withDatabase: typeof WithDatabase): void {
  const mail = admin.command('mail').description('outgoing e-mail: test the SMTP settings, list deliveries');

  mail
    .command('test')
    .description(
      'send a test mail through RAMPART_SMTP_URL directly (not through the outbox) and report the SMTP outcome',
    )
    .requiredOption('--to <address>', 'where to send it')
    .action(async (opts: { to: string }) => {
      const { loadConfig, renderMail, SmtpMailer, PlatformSettings } = await loadServer();
      // A bad setting is a ConfigError, which the CLI reports with exit code 2.
      const config = loadConfig(process.env);
      await runCommand(async () => {
        // The URL in force: the variable, else the platform setting an operator stored (docs/OPERATIONS.md),
        // read from PostgreSQL (the embedded database is held by the running server, so not opened here).
        const url =
          config.RAMPART_SMTP_URL ??
          (config.DATABASE_URL
            ? await withDatabase(async (db, ring) => {
                const settings = new PlatformSettings(db, ring, config);
                await settings.reload();
                return settings.current().RAMPART_SMTP_URL;
              })
            : undefined);
        if (!url)
          throw new UsageError(
            `RAMPART_SMTP_URL is not set${config.DATABASE_URL ? ' and no smtp_url platform setting is stored' : ''}: set it to smtp://user:password@host:587 (STARTTLS) or smtps://...:465`,
          );
        const mailer = new SmtpMailer({
          url,
          from: config.RAMPART_MAIL_FROM,
          timeoutMs: 15_000,
        });
        const ep = mailer.endpoint;
        const mode = ep.secure
          ? 'TLS on connect'
          : ep.requireTLS
            ? 'STARTTLS required'
            : 'plain text (loopback)';
        process.stderr.write(
          `connecting to ${ep.host}:${ep.port} (${mode})${ep.user ? ` as ${ep.user}` : ', no authentication'}\n`,
        );
        try {
          try {
            await mailer.verify();
          } catch (err) {
            throw explain('connecting', err);
          }
          process.stderr.write(
            `connected${ep.user ? ' and authenticated' : ''}; sending from ${config.RAMPART_MAIL_FROM}\n`,
          );
          const m = renderMail({ kind: 'test', at: new Date().toISOString(), node: hostname() });
          let out: Awaited<ReturnType<SmtpMailer['deliver']>>;
          try {
            out = await mailer.deliver({ to: opts.to, ...m });
          } catch (err) {
            throw explain('sending', err);
          }
          const lines = [
            `server response: ${out.response}`,
            `accepted: ${out.accepted.join(', ') || '(none)'}`,
            `rejected: ${out.rejected.join(', ') || '(none)'}`,
            `message id: ${out.messageId}`,
          ];
          if (!out.accepted.length || out.rejected.length)
            throw new Error(
              `mail test failed: the server did not accept every recipient\n  ${lines.join('\n  ')}`,
            );
          return `sent a test mail to ${opts.to}\n${lines.join('\n')}`;
        } finally {
          mailer.close();
        }
      });
    });

  mail
    .command('list')
    .description('delivery records of the mail outbox, newest first (never the message or the full address)')
    .option('--status <status>', 'queued, sent or failed')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { status?: string; limit: string; json?: boolean }) => {
      const { listMail, loadConfig } = await loadServer();
      loadConfig(process.env);
      await runCommand(async () => {
        if (opts.status !== undefined && !['queued', 'sent', 'failed'].includes(opts.status))
          throw new UsageError('--status must be queued, sent or failed');
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new UsageError('--limit must be a whole number from 1 to 500');
        const status = opts.status as 'queued' | 'sent' | 'failed' | undefined;
        const r = await withDatabase((db) => listMail(db, { status, limit }));
        if (opts.json) return JSON.stringify(r);
        const c = r.counts;
        const out = [`queued ${c.queued}  sending ${c.sending}  sent ${c.sent}  failed ${c.failed}`];
        for (const m of r.mails) {
          const when = m.failedAt ?? m.sentAt ?? m.createdAt;
          out.push(
            `${m.status.padEnd(7)} ${when}  ${m.kind.padEnd(16)} ${m.toMasked}  attempts ${m.attempts}  ${m.id}` +
              (m.lastError ? `\n        ${m.lastError}` : ''),
          );
        }
        return out.join('\n');
      });
    });
}
