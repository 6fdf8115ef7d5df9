import type { KeyRing } from '@rampart/core/seal';
import { standardWebhookHeaders } from '@rampart/core/webhooks';
import type { Queryable } from '../db/types.js';
import { enqueueMail } from '../mail/outbox.js';
import { newId } from '../platform/ids.js';
import { adaptiveCardMessage } from '../platform/operator-alerts.js';
import type { GuardedAgent } from '../platform/outbound/dispatcher.js';
import { guardedFetch } from '../platform/outbound/fetch.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { credentialTransport } from '../platform/outbound/transport.js';
import type { OpenChannel } from './channels.js';

/** A job's failure (after N consecutive failures) or recovery (first success after an alerted failure). */
export interface JobAlert {
  type: 'job.failed' | 'job.recovered';
  orgId: string;
  jobId: string;
  jobName: string;
  runId: string;
  scheduledFor: string;
  httpStatus: number | null;
  error: string | null;
  consecutiveFailures: number;
}

export interface AlertDeps {
  outbound: GuardedAgent;
  /** For the plain-http rule: signed webhooks and secret Slack/Teams URLs go over https only. */
  policy: OutboundPolicy;
}

const DELIVERY_TIMEOUT_MS = 10_000;

export function alertText(a: JobAlert): string {
  if (a.type === 'job.recovered') return `Rampart job "${a.jobName}" recovered: run ${a.runId} succeeded.`;
  const what = a.httpStatus !== null ? `HTTP ${a.httpStatus}` : (a.error ?? 'error');
  return `Rampart job "${a.jobName}" failed ${a.consecutiveFailures} time(s) in a row; last run ${a.runId}: ${what}.`;
}

/** A Teams message with one Adaptive Card (platform/operator-alerts.ts). Plain facts only: no header values, no URLs. */
export function teamsMessage(a: JobAlert): Record<string, unknown> {
  const failed = a.type === 'job.failed';
  const http = a.httpStatus !== null ? `HTTP ${a.httpStatus}` : null;
  const last = failed ? (http ?? a.error ?? 'error') : http ? `succeeded (${http})` : 'succeeded';
  const line = (text: string, extra: Record<string, unknown> = {}) => ({
    type: 'TextBlock',
    text,
    wrap: true,
    ...extra,
  });
  return adaptiveCardMessage([
    line(failed ? 'Rampart job failing' : 'Rampart job recovered', {
      size: 'Large',
      weight: 'Bolder',
      color: failed ? 'Attention' : 'Good',
    }),
    line(`Job: ${a.jobName}`, { weight: 'Bolder' }),
    ...(failed ? [line(`Consecutive failures: ${a.consecutiveFailures}`)] : []),
    line(`Last run: ${last}`),
    line(`Run ${a.runId}, scheduled for ${a.scheduledFor}`, { isSubtle: true, spacing: 'Small' }),
  ]);
}

/**
 * Queues an e-mail alert in the transaction that decided it, one message per address. The outbox worker
 * delivers it and audits the outcome in the org: `job.alert_sent` once the SMTP server has accepted it,
 * `job.alert_failed` when it never will.
 */
export async function queueEmailAlert(
  q: Queryable,
  ring: KeyRing,
  channel: Extract<OpenChannel, { type: 'email' }>,
  a: JobAlert,
): Promise<void> {
  for (const to of channel.to) {
    await enqueueMail(q, ring, {
      to,
      orgId: a.orgId,
      ref: { jobId: a.jobId, channelId: channel.id, alert: a.type, runId: a.runId },
      template: { kind: 'job_alert', alert: a.type, jobName: a.jobName, body: alertText(a) },
    });
  }
}

/**
 * Sends one alert to one HTTP channel. Webhooks are signed in the Standard Webhooks format (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature` over `{id}.{timestamp}.{body}`) with a payload
 * `{type, timestamp, data}`; Slack gets an incoming-webhook `{text}`; Teams a message with an Adaptive Card
 * (teamsMessage). E-mail never comes here: it is queued in the outbox (queueEmailAlert).
 * Outbound HTTP goes through the guarded agent, like job requests.
 * @throws Error when the receiver is unreachable or answers non-2xx
 */
export async function deliverAlert(channel: OpenChannel, a: JobAlert, deps: AlertDeps): Promise<void> {
  if (channel.type === 'email') throw new Error('e-mail alerts go through the outbox');
  let url: string;
  let body: string;
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  if (channel.type === 'webhook') {
    url = channel.url;
    const now = new Date();
    body = JSON.stringify({ type: a.type, timestamp: now.toISOString(), data: a });
    headers = {
      ...headers,
      ...standardWebhookHeaders({
        secret: channel.secret,
        id: `msg_${newId().replaceAll('-', '')}`,
        timestamp: Math.floor(now.getTime() / 1000),
        body,
      }),
    };
  } else if (channel.type === 'teams') {
    // Classic connectors answer 200 "1", Workflows 202 with no body: any 2xx counts as delivered.
    url = channel.webhookUrl;
    body = JSON.stringify(teamsMessage(a));
  } else {
    url = channel.webhookUrl;
    body = JSON.stringify({ text: alertText(a) });
  }
  const transport = credentialTransport(new URL(url), deps.policy);
  if (!transport.ok) throw new Error(`refused: ${transport.reason}`);
  const res = await guardedFetch(deps.outbound, url, {
    method: 'POST',
    headers,
    body,
    timeoutMs: DELIVERY_TIMEOUT_MS,
    maxBytes: 1024,
    // A redirect must not carry the signed body anywhere else; the receiver answers directly.
    maxRedirects: 0,
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`receiver answered HTTP ${res.status}`);
}
