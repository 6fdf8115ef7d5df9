import type { Logger } from 'pino';

/** A delivery failure that no retry can fix: the outbox marks the message failed at once. */
export class PermanentMailError extends Error {
  override readonly name = 'PermanentMailError';
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string | undefined;
}

/**
 * How a message leaves the node: SMTP (mail/smtp.ts) in production, the log in development, memory in tests.
 * Nothing calls it directly: mail is queued in the outbox (mail/outbox.ts) and the worker (mail/worker.ts) uses
 * this to deliver it. A failure is thrown; an error with an SMTP `responseCode` of 5xx is not retried.
 */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * Development default: writes the message to the log so a developer can follow a reset link. In production it
 * logs only the subject and fails the delivery (start-up warns that RAMPART_SMTP_URL is not set).
 */
export class LogMailer implements Mailer {
  readonly #log: Logger;
  readonly #production: boolean;
  constructor(log: Logger, production = false) {
    this.#log = log;
    this.#production = production;
  }
  async send(mail: Mail): Promise<void> {
    if (this.#production) {
      // A reset link in a production log is an account takeover for anyone who reads logs: drop the body.
      // Failing it (rather than pretending it went) keeps the outbox honest: the row is marked failed for
      // operators to see, and an e-mail alert is audited job.alert_failed, never job.alert_sent.
      this.#log.error(
        { subject: mail.subject },
        'mail NOT sent: RAMPART_SMTP_URL is not set (body withheld from the log)',
      );
      throw new PermanentMailError('no SMTP server is configured (RAMPART_SMTP_URL is not set)');
    }
    this.#log.info(
      { mail: { to: mail.to, subject: mail.subject, body: mail.text } },
      'mail (development mailer)',
    );
  }
}

/** Collects messages in memory (tests). */
export class MemoryMailer implements Mailer {
  readonly sent: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
  }
}
