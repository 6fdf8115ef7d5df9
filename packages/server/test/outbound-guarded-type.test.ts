/**
 * GuardedAgent is a branded type: everything that sends outbound requests on a user's behalf asks for one, and
 * only guardedAgent() makes one. The checks below are compile-time: `npm run typecheck:tests` fails if a plain
 * undici Agent or Dispatcher is ever accepted (each `@ts-expect-error` would then be unused, which tsc reports).
 * The runtime part only confirms the brand costs nothing: the value is an ordinary undici Agent.
 */
import { Agent, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import type { GatewayServices } from '../src/gateway/services.js';
import type { OidcServices } from '../src/identity/oidc/services.js';
import type { AlertDeps } from '../src/jobs/alerts.js';
import type { RunnerOptions } from '../src/jobs/runner.js';
import type { JobsServices } from '../src/jobs/services.js';
import { type GuardedAgent, guardedAgent } from '../src/platform/outbound/dispatcher.js';
import { guardedFetch } from '../src/platform/outbound/fetch.js';
import { parsePolicy } from '../src/platform/outbound/policy.js';

const opts = { timeoutMs: 1, maxBytes: 1 };

/** Never called: tsc checks it, vitest only asserts it exists. */
export function typeChecks(plain: Agent, dispatcher: Dispatcher, guarded: GuardedAgent): void {
  // @ts-expect-error a plain undici Agent is not a GuardedAgent
  const fromPlain: GuardedAgent = plain;
  // @ts-expect-error nor is any other Dispatcher
  const fromDispatcher: GuardedAgent = dispatcher;
  // @ts-expect-error nor is a freshly made Agent
  const fromNew: GuardedAgent = new Agent();

  // @ts-expect-error guardedFetch refuses a plain Agent
  void guardedFetch(plain, 'https://example.com/', opts);
  // @ts-expect-error guardedFetch refuses a Dispatcher
  void guardedFetch(dispatcher, 'https://example.com/', opts);

  // @ts-expect-error the jobs runner refuses a plain Agent
  const runner: Pick<RunnerOptions, 'outbound'> = { outbound: plain };
  // @ts-expect-error alerts (webhooks, Slack, Teams) refuse a plain Agent
  const alerts: Pick<AlertDeps, 'outbound'> = { outbound: plain };
  // @ts-expect-error the gateway upstream (and the widget, which uses GatewayServices) refuses a plain Agent
  const gateway: Pick<GatewayServices, 'outbound'> = { outbound: plain };
  // @ts-expect-error the jobs routes refuse a plain Agent
  const jobs: Pick<JobsServices, 'outbound'> = { outbound: plain };
  // @ts-expect-error OIDC discovery, JWKS and token calls refuse a plain Agent
  const oidc: Pick<OidcServices, 'outbound'> = { outbound: plain };

  // A GuardedAgent is accepted everywhere, and is still an undici Agent for code that only reads it.
  const asAgent: Agent = guarded;
  void guardedFetch(guarded, 'https://example.com/', opts);
  const accepted: Pick<RunnerOptions, 'outbound'> &
    Pick<AlertDeps, 'outbound'> &
    Pick<GatewayServices, 'outbound'> &
    Pick<JobsServices, 'outbound'> &
    Pick<OidcServices, 'outbound'> = { outbound: guarded };
  void [fromPlain, fromDispatcher, fromNew, runner, alerts, gateway, jobs, oidc, asAgent, accepted];
}

describe('GuardedAgent', () => {
  it('is made only by guardedAgent(), and is an ordinary undici Agent at run time', async () => {
    const agent: GuardedAgent = guardedAgent({ policy: parsePolicy([]) });
    expect(agent).toBeInstanceOf(Agent);
    expect(typeof typeChecks).toBe('function');
    await agent.close();
  });
});
