import type { Logger } from 'pino';
import type { GuardedAgent } from './outbound/dispatcher.js';
import { guardedFetch } from './outbound/fetch.js';
import type { OutboundPolicy } from './outbound/policy.js';
import { credentialTransport } from './outbound/transport.js';
import type { PlatformSettings } from './settings.js';

/** What operators are told: a title and plain facts (ids, counts, names of settings; never a secret). */
export interface OperatorAlert {
  title: string;
  facts: Array<[string, string]>;
}

/** The operators' channels, as read from the settings in force. */
export interface ChannelUrls {
  RAMPART_SLACK_WEBHOOK_URL?: string | undefined;
  RAMPART_TEAMS_WEBHOOK_URL?: string | undefined;
}

const TIMEOUT_MS = 10_000;

/** Slack incoming webhooks take `{text}` (mrkdwn); the facts go one per line. */
export function slackBody(a: OperatorAlert): string {
  const lines = a.facts.map(([k, v]) => `• ${k}: ${v}`);
  return JSON.stringify({ text: [`*${a.title}*`, ...lines].join('\n') });
}

/**
 * A Teams message holding one Adaptive Card with `body` (the shape both classic incoming webhooks and Workflows'
 * "post to a channel when a webhook request is received" accept). Job alerts use it too.
 */
export function adaptiveCardMessage(body: unknown[]): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
        },
      },
    ],
  };
}

/** Teams gets the title and the facts as a FactSet. */
export function teamsBody(a: OperatorAlert): string {
  return JSON.stringify(
    adaptiveCardMessage([
      { type: 'TextBlock', text: a.title, size: 'Large', weight: 'Bolder', wrap: true },
      { type: 'FactSet', facts: a.facts.map(([title, value]) => ({ title, value })) },
    ]),
  );
}

/**
 * Posts platform events (settings changed, orgs suspended or resumed, incident notices sent) to the operators'
 * own Slack and Teams webhooks, the platform settings `slack_webhook_url` / `teams_webhook_url` (or their
 * variables). Best effort and in the background: an unreachable channel is logged and never fails or delays the
 * action it reports; the audit chain, not the chat, is the record. Outbound calls go through the guarded agent,
 * https only unless the operator allow-listed the host, no redirects.
 */
export class OperatorAlerts {
  readonly #settings: PlatformSettings;
  readonly #outbound: GuardedAgent;
  readonly #policy: OutboundPolicy;
  readonly #log: Logger;
  readonly #pending = new Set<Promise<void>>();

  constructor(o: {
    settings: PlatformSettings;
    outbound: GuardedAgent;
    policy: OutboundPolicy;
    logger: Logger;
  }) {
    this.#settings = o.settings;
    this.#outbound = o.outbound;
    this.#policy = o.policy;
    this.#log = o.logger;
  }

  /**
   * Starts the posts and returns at once. `before`: the channels in force before the change this alert reports;
   * a channel that changed hears of it too, so whoever redirects or clears the operators' channel cannot do it
   * unheard by the channel they replaced.
   */
  post(alert: OperatorAlert, before?: ChannelUrls): void {
    const now = this.#settings.current();
    const targets: Array<[string, string | undefined, string]> = [
      ['slack', now.RAMPART_SLACK_WEBHOOK_URL, slackBody(alert)],
      ['teams', now.RAMPART_TEAMS_WEBHOOK_URL, teamsBody(alert)],
    ];
    if (before?.RAMPART_SLACK_WEBHOOK_URL !== now.RAMPART_SLACK_WEBHOOK_URL)
      targets.push(['slack', before?.RAMPART_SLACK_WEBHOOK_URL, slackBody(alert)]);
    if (before?.RAMPART_TEAMS_WEBHOOK_URL !== now.RAMPART_TEAMS_WEBHOOK_URL)
      targets.push(['teams', before?.RAMPART_TEAMS_WEBHOOK_URL, teamsBody(alert)]);
    for (const [channel, url, body] of targets) {
      if (!url) continue;
      const p = this.#send(url, body).catch((err: Error) =>
        // The URL is a credential: the log names the channel and the reason only.
        this.#log.warn({ channel, reason: err.message }, 'operator alert not delivered'),
      );
      this.#pending.add(p);
      void p.finally(() => this.#pending.delete(p));
    }
  }

  /** Waits for the posts in flight (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #send(url: string, body: string): Promise<void> {
    const transport = credentialTransport(new URL(url), this.#policy);
    if (!transport.ok) throw new Error(`refused: ${transport.reason}`);
    const res = await guardedFetch(this.#outbound, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      timeoutMs: TIMEOUT_MS,
      maxBytes: 1024,
      maxRedirects: 0,
    });
    if (res.status < 200 || res.status >= 300) throw new Error(`receiver answered HTTP ${res.status}`);
  }
}
