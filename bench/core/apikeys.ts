// API-key verification: the server's Authenticator turning `Authorization: Bearer rk_live_…` into a principal,
// on a cache miss (hash, then the SECURITY DEFINER lookup in its own transaction) and on a cache hit.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { generateApiKey } from '../../packages/core/src/apikeys/index.js';
import { Authenticator } from '../../packages/server/src/identity/authenticate.js';
import { AppError } from '../../packages/server/src/platform/errors.js';
import { callJson } from '../lib/rampart.js';
import type { Figure } from '../lib/types.js';
import { fmtCore, interleavedRates, rateOf } from './rates.js';
import { engineTag, type Instance, type Plan } from './setup.js';

/** What the HTTP layer hands the Authenticator: only the header is read (and the principal memoised on it). */
const requestWith = (authorization: string) => ({ headers: { authorization } }) as unknown as FastifyRequest;

/** Keys primed into one Authenticator's cache for the warm figure (each timed call verifies all of them). */
const WARM_KEYS = 100;

async function refused(what: string, verify: () => Promise<unknown>, failures: string[]): Promise<void> {
  try {
    await verify();
    failures.push(`API keys: ${what} was accepted`);
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'unauthorized'))
      failures.push(`API keys: ${what} failed with ${String(err)} instead of unauthorized`);
  }
}

/**
 * Checks the path first (every key maps to its own id and org; unknown, malformed and revoked keys are refused,
 * a revoked key also by the node's cache), then times cold and warm verification against their floors.
 * `warm` is measured only when asked: it does not touch the database, so one engine is enough.
 */
export async function measureApiKeys(
  inst: Instance,
  plan: Plan,
  warm: boolean,
  failures: string[],
): Promise<{ cold: Figure[]; warm: Figure | undefined; headline: Figure[] }> {
  const { db, jwtKeys, auth } = inst.rampart.services;
  const tag = engineTag(inst);
  const fresh = () => new Authenticator(db, jwtKeys);
  const headers = inst.keys.map((k) => ({ ...k, header: `Bearer ${k.key}` }));

  for (const k of headers) {
    const p = await fresh().apiKey(requestWith(k.header));
    if (p.keyId !== k.id || p.orgId !== inst.orgId)
      failures.push(`API keys (${tag}): key ${k.id} resolved to key ${p.keyId} of org ${p.orgId}`);
  }
  await refused(
    'an unknown well-formed key',
    () => fresh().apiKey(requestWith(`Bearer ${generateApiKey().key}`)),
    failures,
  );
  await refused('a malformed key', () => fresh().apiKey(requestWith('Bearer rk_live_0OIl')), failures);
  // Revoked through the API while the node's own Authenticator has it cached: refused at once, and by a
  // node that looks it up afresh.
  const revoked = headers.pop();
  if (revoked === undefined) throw new Error('no API keys to measure');
  await auth.apiKey(requestWith(revoked.header));
  await callJson(
    inst.origin,
    'DELETE',
    `/api/orgs/${inst.orgId}/api-keys/${revoked.id}`,
    undefined,
    inst.session,
  );
  await refused(
    'a revoked key (same node, cached before)',
    () => auth.apiKey(requestWith(revoked.header)),
    failures,
  );
  await refused('a revoked key (cache miss)', () => fresh().apiKey(requestWith(revoked.header)), failures);

  // The lookup writes last_used_at at most once a minute per key, off the request path; it is brought up to
  // date before each round so those writes do not land in the measured time.
  const touch = async () => {
    await db.org(inst.orgId, (q) =>
      q.query('UPDATE api_keys SET last_used_at = now() WHERE org_id = $1', [inst.orgId]),
    );
  };
  let i = 0;
  let wrong = 0;
  const timing = { iterations: 20, timeMs: plan.timeMs, warmupIterations: 20 };
  const cold = await interleavedRates(
    [
      {
        name: 'cold',
        ops: 1,
        prepare: touch,
        fn: async () => {
          const k = headers[i++ % headers.length];
          if (k === undefined) return;
          const p = await fresh().apiKey(requestWith(k.header));
          if (p.keyId !== k.id) wrong++;
        },
      },
      { name: 'select1', ops: 1, fn: () => db.owner((q) => q.query('SELECT 1')) },
      { name: 'tx', ops: 1, fn: () => db.tx({ orgId: null }, (q) => q.query('SELECT 1')) },
    ],
    plan.rounds,
    timing,
  );
  if (wrong > 0) failures.push(`API keys (${tag}): ${wrong} cold verifications returned the wrong key`);
  const [coldRate, floor, tx] = [rateOf(cold, 'cold'), rateOf(cold, 'select1'), rateOf(cold, 'tx')];
  const each = (rate: number) => `${fmtCore.perSecond(rate)} (${fmtCore.us(1000 / rate)} each)`;
  const figures: Figure[] = [
    {
      figure: `${tag}: cold verification (cache miss: parse, hash, lookup transaction), one caller`,
      ours: each(coldRate),
      peer: `\`SELECT 1\` in a bare transaction, same engine and pool: ${each(floor)}`,
      ratio: fmtCore.ratio(coldRate / floor),
      target: '–',
    },
    {
      figure: `${tag}: of which the lookup's transaction wrapper (role and tenant context, \`SELECT 1\` in place of the lookup)`,
      ours: each(tx),
      peer: `\`SELECT 1\` in a bare transaction: ${each(floor)}`,
      ratio: fmtCore.ratio(tx / floor),
      target: '–',
    },
  ];
  const headline = figures.slice(0, 1).map((f) => ({
    ...f,
    figure: `${tag}: API-key verifications/s, cache miss (hash and lookup transaction)`,
  }));
  if (!warm) return { cold: figures, warm: undefined, headline };

  const cached = fresh();
  const primed = headers.slice(0, WARM_KEYS);
  const keys = primed.map((k) => k.key);
  let hits = 0;
  let sink = 0;
  wrong = 0;
  const rates = await interleavedRates(
    [
      {
        name: 'warm',
        ops: primed.length,
        // The cache keeps entries 5 s; priming right before each timed run keeps every call a hit.
        prepare: async () => {
          await touch();
          for (const k of primed) await cached.apiKey(requestWith(k.header));
        },
        fn: async () => {
          for (const k of primed) {
            const p = await cached.apiKey(requestWith(k.header));
            if (p.keyId === k.id) hits++;
            else wrong++;
          }
        },
      },
      {
        name: 'sha256',
        ops: keys.length,
        fn: () => {
          for (const key of keys) sink += createHash('sha256').update(key).digest('hex').length;
        },
      },
    ],
    plan.rounds,
    { iterations: 50, timeMs: Math.min(plan.timeMs, 1000), warmupIterations: 20 },
  );
  if (hits === 0 || sink === 0) failures.push('API keys: the warm measurement verified nothing');
  if (wrong > 0) failures.push(`API keys (${tag}): ${wrong} warm verifications returned the wrong key`);
  const warmRate = rateOf(rates, 'warm');
  const shaRate = rateOf(rates, 'sha256');
  return {
    cold: figures,
    headline,
    warm: {
      figure: 'Warm verification (cache hit; no database), one caller',
      ours: each(warmRate),
      peer: `raw SHA-256 of the key (\`createHash\`, hex): ${each(shaRate)}`,
      ratio: fmtCore.ratio(warmRate / shaRate),
      target: '–',
    },
  };
}
