import type { Logger } from 'pino';
import { LogMailer, type Mail, type Mailer } from '../platform/mailer.js';
import { SmtpMailer } from './smtp.js';

/**
 * The node's mailer when none is injected: SMTP through the SMTP URL in force (RAMPART_SMTP_URL, or the stored
 * platform setting, docs/OPERATIONS.md "Platform settings"), the log mailer while there is none. The URL is read
 * at each send, so a change an operator makes reaches every node's next delivery without a restart; the pooled
 * transport of the previous URL is closed once the URL changes.
 */
export class LiveMailer implements Mailer {
  readonly #url: () => string | undefined;
  readonly #from: string;
  readonly #fallback: LogMailer;
  #smtp: { url: string; mailer: SmtpMailer } | undefined;

  constructor(o: { url: () => string | undefined; from: string; logger: Logger; production: boolean }) {
    this.#url = o.url;
    this.#from = o.from;
    this.#fallback = new LogMailer(o.logger, o.production);
  }

  /** The transport for the URL in force now (built once per URL). */
  current(): Mailer {
    const url = this.#url();
    if (!url) {
      this.close();
      return this.#fallback;
    }
    if (this.#smtp?.url !== url) {
      this.close();
      this.#smtp = { url, mailer: new SmtpMailer({ url, from: this.#from }) };
    }
    return this.#smtp.mailer;
  }

  send(mail: Mail): Promise<void> {
    return this.current().send(mail);
  }

  close(): void {
    this.#smtp?.mailer.close();
    this.#smtp = undefined;
  }
}
