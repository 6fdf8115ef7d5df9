// Setup for the gateway bench: the workload (request, stub answer, plan), a Rampart instance with its org,
// provider and API keys, and the bare pass-through proxy used as a reference.
import { signup } from '@rampart/testing';
import { redactChatMessages } from '../../packages/core/src/redact/index.js';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { callJson, type Listening, startBenchRampart } from '../lib/rampart.js';
import { PROXY_PATH, PROXY_UPSTREAM_KEY } from './bare-proxy.js';

export const TARGET_CONCURRENCY = 32;
export const TARGET_P50_ADDED_MS = 1;
export const TARGET_P99_ADDED_MS = 5;
export const CONCURRENCIES = [1, TARGET_CONCURRENCY] as const;
export const MODEL = 'bench-model';
export const UPSTREAM_KEY = PROXY_UPSTREAM_KEY;
export const PATH = PROXY_PATH;

// A realistic request: a support thread to summarise (about 1.5 KB), with the e-mail addresses and phone
// numbers such threads carry, so redaction has work to do on every request.
export const USER_TEXT = [
  'Please summarise the following support thread for the account team and list the open action items.',
  '',
  'From: Dana Whitfield <dana.whitfield@northwind-logistics.com>',
  'Hi team, since the 4.2.1 update our warehouse dashboard takes almost 30 seconds to load, and the export ' +
    'to CSV times out for reports longer than 90 days. We have 12 people on the night shift who rely on it. ' +
    'You can reach me on (415) 555-0134 until 6 pm Pacific, or my colleague Marco at ' +
    'marco.bianchi@northwind-logistics.com.',
  '',
  'From: Support <support@example-saas.io>',
  'Thanks Dana. We reproduced the slow load on build 20240315.3 and suspect the new aggregation query. Could ' +
    'you confirm whether the issue also happens in the EU tenant? Our on-call engineer can join a call; the ' +
    'bridge number is +1 212 555 0188.',
  '',
  'From: Dana Whitfield',
  'It happens in both tenants. Order 2024-B-117 was shipped twice because the page timed out during ' +
    'confirmation, so finance (ap-team@northwind-logistics.com, +44 20 7946 0958) needs a corrected invoice ' +
    'for the $1,249.00 charge. Please also update our billing contact to priya.nair@northwind-logistics.com ' +
    'and send the new invoice there.',
  '',
  "Keep the summary under 150 words, neutral in tone, and do not include anyone's contact details.",
].join('\n');

export const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant for a customer-success team.' },
  { role: 'user', content: USER_TEXT },
];
export const CHAT_BODY = JSON.stringify({
  model: MODEL,
  messages: MESSAGES,
  temperature: 0.2,
  max_tokens: 300,
});
/** What the upstream must receive through Rampart: the same body with the messages redacted. */
export const REDACTED_MESSAGES = JSON.stringify(redactChatMessages(MESSAGES));

export const STUB_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: MODEL,
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content:
          'Summary: since 4.2.1 the warehouse dashboard loads slowly and long CSV exports time out in both ' +
          'tenants; a timeout caused a duplicate shipment. Action items: fix the aggregation query, issue a ' +
          'corrected invoice, update the billing contact.',
      },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 380, completion_tokens: 52, total_tokens: 432 },
});

export interface Plan {
  readonly warmup: number;
  /** Recorded requests per point and target. */
  readonly requests: number;
  /** Interleaved rounds the recorded requests are split into (direct and Rampart alternate). */
  readonly rounds: number;
  readonly profileRequests: number;
  /** Sequential runs of each piece timed alone. */
  readonly pieceRuns: number;
}

export const planFor = (full: boolean): Plan =>
  full
    ? { warmup: 1000, requests: 20_000, rounds: 10, profileRequests: 5000, pieceRuns: 2000 }
    : { warmup: 200, requests: 2000, rounds: 4, profileRequests: 1000, pieceRuns: 300 };

// --- Rampart under test ---------------------------------------------------------------------------------

export interface Instance extends Listening {
  readonly orgId: string;
  /** The id of the default key. */
  readonly keyId: string;
  /**
   * API keys: org default (redaction on), one overriding redaction off, and one under gateway limits (requests and
   * tokens per minute and a monthly budget, all far above what the bench sends: every check runs, none refuses).
   */
  readonly keys: { readonly on: string; readonly off: string; readonly limited: string };
}

export function startRampart(engine: EngineName, stubOrigin: string): Promise<Instance> {
  return startBenchRampart(engine, {}, ({ origin }) => setUpOrg(origin, stubOrigin));
}

/** Sets up as a user would: sign up, register the stub as the org's provider, create API keys. */
export async function setUpOrg(
  origin: string,
  stubOrigin: string,
): Promise<{ orgId: string; keyId: string; keys: { on: string; off: string; limited: string } }> {
  const call = (method: string, path: string, body: unknown, token?: string) =>
    callJson(origin, method, path, body, token ? { authorization: `Bearer ${token}` } : {});
  const owner = await signup(origin, { email: 'load-test@example.com', orgName: 'Bench Org' });
  const session = owner.token;
  const orgId = owner.orgId;
  await call(
    'PUT',
    `/api/orgs/${orgId}/providers/stub`,
    // Priced, so a budget can count it (an unpriced model is refused under a budget).
    {
      baseUrl: `${stubOrigin}/v1`,
      apiKey: UPSTREAM_KEY,
      models: [MODEL],
      prices: { [MODEL]: { input: 0.15, output: 0.6 } },
    },
    session,
  );
  const on = await call('POST', `/api/orgs/${orgId}/api-keys`, { name: 'bench' }, session);
  const off = await call(
    'POST',
    `/api/orgs/${orgId}/api-keys`,
    { name: 'bench-raw', redaction: 'off' },
    session,
  );
  const limited = await call(
    'POST',
    `/api/orgs/${orgId}/api-keys`,
    {
      name: 'bench-limits',
      requestsPerMinute: 10_000_000,
      tokensPerMinute: 1_000_000_000_000,
      monthlyBudgetUsd: 1_000_000,
    },
    session,
  );
  return {
    orgId,
    keyId: String(on.id),
    keys: { on: String(on.key), off: String(off.key), limited: String(limited.key) },
  };
}

export { startBareProxy } from './bare-proxy.js';
