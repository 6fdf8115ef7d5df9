import type { Logger } from 'pino';

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
 * Development default: writes the message to the log so a developer can follow a reset link. Never use it in
 * production (it logs reset links); start-up warns when it is in use with NODE_ENV=production.
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
      this.#log.error(
        { subject: mail.subject },
        'mail NOT sent: no mailer is configured (body withheld from the log)',
      );
      return;
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
