// A Rampart instance for the database parts of the core bench, set up through its own HTTP API as a customer
// would: a user and their orgs, API keys in one of them, and the business plan on the orgs quota is taken from.
import { signup } from '@rampart/testing';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { callJson, type Listening, startBenchRampart } from '../lib/rampart.js';

export interface Plan {
  /** API keys created in the key org (cold lookups cycle through them). */
  readonly keys: number;
  /** Concurrencies of the quota measurement; the largest is also the number of spread orgs. */
  readonly concurrencies: readonly number[];
  /** Interleaved rounds of the tinybench-timed figures. */
  readonly rounds: number;
  /** tinybench time budget per subject and round (ms). */
  readonly timeMs: number;
  /** Rows per batcher round (and per plain-batch round); the batch org's chain is verified afterwards. */
  readonly batchRows: number;
  readonly batchRounds: number;
  /** Verification passes per approach. */
  readonly verifyRounds: number;
  /** Quota calls per point and round. */
  readonly quotaCalls: number;
  readonly quotaRounds: number;
}

export const planFor = (full: boolean): Plan =>
  full
    ? {
        keys: 1000,
        concurrencies: [1, 16, 64],
        rounds: 5,
        timeMs: 1000,
        batchRows: 50_000,
        batchRounds: 4,
        verifyRounds: 3,
        quotaCalls: 1000,
        quotaRounds: 3,
      }
    : {
        keys: 100,
        concurrencies: [1, 16],
        rounds: 3,
        timeMs: 300,
        batchRows: 5_000,
        batchRounds: 4,
        verifyRounds: 3,
        quotaCalls: 300,
        quotaRounds: 2,
      };

export interface Instance extends Listening {
  /** The org holding the API keys; quota contention is on its counter too. */
  readonly orgId: string;
  /** The org whose chain takes the single-row appends. */
  readonly auditOrgId: string;
  /** The org whose chain takes the batched appends and is verified. */
  readonly batchOrgId: string;
  /** One org per caller at the largest concurrency, for quota admission without a shared row. */
  readonly spreadOrgIds: readonly string[];
  readonly keys: ReadonlyArray<{ readonly id: string; readonly key: string }>;
  /** The dashboard session's headers (for revoking a key through the API). */
  readonly session: Record<string, string>;
}

export function startInstance(engine: EngineName, plan: Plan): Promise<Instance> {
  // No job runner: nothing but the bench should use the database.
  return startBenchRampart(engine, { RAMPART_JOB_RUNNER: 'off' }, async ({ rampart, origin }) => {
    const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      callJson(origin, method, path, body, headers);
    const owner = await signup(origin, { email: 'core-bench@example.com', orgName: 'Core Bench' });
    const orgId = owner.orgId;
    const session = { authorization: `Bearer ${owner.token}` };
    const newOrg = async (name: string) => String((await call('POST', '/api/orgs', { name }, session)).orgId);

    const keys: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < plan.keys; i++) {
      const k = await call('POST', `/api/orgs/${orgId}/api-keys`, { name: `bench-${i}` }, session);
      keys.push({ id: String(k.id), key: String(k.key) });
    }
    const auditOrgId = await newOrg('Core Bench audit');
    const batchOrgId = await newOrg('Core Bench audit batches');
    const spreadOrgIds: string[] = [];
    for (let i = 0; i < Math.max(...plan.concurrencies); i++) spreadOrgIds.push(await newOrg(`Spread ${i}`));

    // Plans are changed by the billing webhook in production; here the row is set directly (business plan:
    // 200,000 messages a month, so the measured admissions never reach the limit).
    const { db } = rampart.services;
    for (const id of [orgId, ...spreadOrgIds]) {
      await db.org(id, (q) =>
        q.query(
          `INSERT INTO org_billing (org_id, plan) VALUES ($1, 'business')
           ON CONFLICT (org_id) DO UPDATE SET plan = 'business'`,
          [id],
        ),
      );
    }
    return { orgId, auditOrgId, batchOrgId, spreadOrgIds, keys, session };
  });
}

/** The short engine name figures are prefixed with: `PGlite`, `PostgreSQL 15.20`. */
export const engineTag = (inst: Listening): string => inst.label.split(' (')[0] ?? inst.label;
