/**
 * The outbox across process lifetimes and nodes, through real SMTP: mail queued while the SMTP server is down
 * survives a restart and is delivered once by the new process; two Rampart nodes on one PostgreSQL deliver each
 * of many queued mails exactly once (FOR UPDATE SKIP LOCKED); and a node whose lease was taken over cannot
 * overwrite the outcome of the node that took it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase, freePort, uniqueEmail } from '@rampart/testing';
import { SMTP_PASS, SMTP_USER, type SmtpSink, startSmtpSink } from '@rampart/testing/smtp';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail } from '../src/mail/outbox.js';
import { SmtpMailer } from '../src/mail/smtp.js';
import { MailWorker } from '../src/mail/worker.js';
import { createTestDb, ENGINES, type TestDb, testRing } from './helpers.js';
import { durableStore, FAST_MAIL, type MailServer, outbox, startMailServer } from './mail-support.js';

const smtpUrl = (port: number) => `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${port}`;
const testMail = { kind: 'test', at: 'now', node: 'n' } as const;

describe.each(ENGINES)('mail outbox across restarts and nodes (%s)', (engine) => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('mail queued while the SMTP server is down is delivered once after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-mail-restart-'));
    dirs.push(dir);
    const { store, drop } = await durableStore(engine, dir);
    const port = await freePort();
    const env = {
      ...FAST_MAIL,
      RAMPART_MAIL_MAX_ATTEMPTS: '50',
      RAMPART_MAIL_RETRY_MAX_MS: '100',
      RAMPART_SMTP_URL: smtpUrl(port),
    };
    let sink: SmtpSink | undefined;
    let b: MailServer | undefined;
    try {
      const a = await startMailServer(env, store);
      const to = [uniqueEmail('r1'), uniqueEmail('r2'), uniqueEmail('r3')];
      await a.db.platform(async (q) => {
        for (const t of to) await enqueueMail(q, a.rampart.services.ring, { to: t, template: testMail });
      });
      // Each has been tried against the closed port and is waiting for its next attempt.
      await expect
        .poll(async () =>
          (await outbox(a.db)).every((r) => r.attempts >= 1 && /ECONNREFUSED/.test(r.last_error ?? '')),
        )
        .toBe(true);
      await a.close();

      sink = await startSmtpSink({ port });
      b = await startMailServer(env, store);
      for (const t of to) await sink.waitFor(t);
      await expect
        .poll(async () => (await outbox((b as MailServer).db)).map((r) => r.status))
        .toEqual(['sent', 'sent', 'sent']);
      for (const t of to) expect(sink.mails.filter((m) => m.to.includes(t))).toHaveLength(1);
      expect(sink.mails).toHaveLength(3);
    } finally {
      await b?.close();
      await sink?.close();
      await drop();
    }
  });

  it.skipIf(engine !== 'postgres')(
    'two nodes on one PostgreSQL deliver each of many queued mails exactly once',
    async () => {
      const sink = await startSmtpSink();
      const d = await createPgDatabase();
      const env = { ...FAST_MAIL, RAMPART_SMTP_URL: sink.url };
      const a = await startMailServer(env, { databaseUrl: d.url });
      const b = await startMailServer(env, { databaseUrl: d.url });
      try {
        const to = Array.from({ length: 40 }, (_, i) => `node-${i}-${uniqueEmail('n')}`);
        // One transaction on node A; both nodes' workers hear of it and race for the rows.
        await a.db.platform(async (q) => {
          for (const t of to) await enqueueMail(q, a.rampart.services.ring, { to: t, template: testMail });
        });
        await expect.poll(() => sink.mails.length, { timeout: 15_000 }).toBe(40);
        await expect
          .poll(async () => (await outbox(b.db)).every((r) => r.status === 'sent' && r.attempts === 1))
          .toBe(true);
        for (const t of to)
          expect(
            sink.mails.filter((m) => m.to.includes(t)),
            t,
          ).toHaveLength(1);
      } finally {
        await a.close();
        await b.close();
        await d.drop();
        await sink.close();
      }
    },
  );

  describe('lease takeover', () => {
    let tdb: TestDb;
    let server: SMTPServer;
    let port: number;
    const held: Array<(err?: Error) => void> = [];
    beforeAll(async () => {
      tdb = await createTestDb(engine);
      // An SMTP server that holds every message at DATA until the test answers it.
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _s, cb) {
          stream.resume();
          stream.on('end', () => held.push((err) => cb(err ?? null)));
        },
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await tdb.close();
    });

    it('a node whose lease ran out cannot overwrite the outcome of the node that took the row over', async () => {
      const ring = testRing();
      const worker = () => {
        const transport = new SmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@rampart.test' });
        return {
          transport,
          w: new MailWorker({
            db: tdb.db,
            ring,
            transport,
            logger: pino({ level: 'silent' }),
            maxAttempts: 5,
            retryBaseMs: 10,
            retryMaxMs: 20,
            pollMs: 60_000,
            retentionDays: 1,
            leaseMs: 100,
            // One row per tick: with a 100 ms lease a longer tick would take the row back itself.
            batch: 1,
          }),
        };
      };
      const n1 = worker();
      const n2 = worker();
      const id = await tdb.db.platform((q) =>
        enqueueMail(q, ring, { to: 'lease@example.test', template: testMail }),
      );
      const row = async () => (await outbox(tdb.db, 'id = $1', [id]))[0];
      const first = n1.w.tick();
      await expect.poll(() => held.length).toBe(1);
      // Node 1 is stuck in DATA past its lease: node 2 takes the row over.
      await expect
        .poll(() =>
          tdb.db.owner(
            async (q) => (await q.query('SELECT 1 FROM mail_outbox WHERE locked_until < now()')).rowCount,
          ),
        )
        .toBe(1);
      const second = n2.w.tick();
      await expect.poll(() => held.length).toBe(2);
      expect(await row()).toMatchObject({ status: 'sending', attempts: 2 });
      // Node 1's session now fails temporarily: its "try again later" must not requeue node 2's delivery.
      held[0]?.(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      await first;
      expect(await row()).toMatchObject({ status: 'sending', attempts: 2, last_error: null });
      held[1]?.();
      expect(await second).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect(await row()).toMatchObject({ status: 'sent', attempts: 2, has_body: false });
      n1.transport.close();
      n2.transport.close();
    });
  });
});
