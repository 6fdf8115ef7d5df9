import type { ConnectionEnvelope } from '@rampart/core/connseal';
import { checkSelect, loadSqlGuard } from '@rampart/core/sqlguard';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { connectCloud } from './connections.js';
import { runSandboxed, type SandboxResult } from './sandbox.js';
import type { DbAccessServices } from './services.js';

export const AGENT_TIMEOUT_MS = 30_000;

/** Runs sandboxed statements on one connection, whichever way it is reached. */
export interface Executor {
  run(sql: string, params: readonly unknown[]): Promise<SandboxResult>;
  close(): Promise<void>;
}

/**
 * Opens a connection for one request. Cloud: the envelope is opened with the presented API key and the
 * database is reached directly (host vetted by the outbound policy). Agent: statements are validated here and
 * forwarded to the connection's agent, which validates them again and runs them in its own network.
 */
export async function openExecutor(
  s: DbAccessServices,
  row: { id: string; mode: 'cloud' | 'agent'; envelope: ConnectionEnvelope | null },
  apiKey: string,
): Promise<Executor> {
  if (row.mode === 'agent') {
    await loadSqlGuard();
    return {
      run: async (sql, params) => {
        const verdict = checkSelect(sql);
        if (!verdict.ok) throw new AppError('query_not_allowed', `Query not allowed: ${verdict.reason}`);
        const r = await s.agentHub.query(row.id, sql, params, AGENT_TIMEOUT_MS);
        return { ...r, queryHash: verdict.queryHash, fingerprint: verdict.fingerprint };
      },
      close: async () => {},
    };
  }
  if (!row.envelope)
    throw new AppError('validation_failed', 'This connection has no sealed connection string');
  const client = await connectCloud(row.envelope, apiKey, s.outboundPolicy);
  return {
    run: (sql, params) => runSandboxed(client, sql, params),
    close: () => client.end().catch(() => {}),
  };
}

/** What the query audit records about a call besides its result. */
export interface QueryAuditInfo {
  tool: string;
  model: string | null;
  /** How many parameters were bound (their values are not recorded). */
  params: number;
}

/**
 * Opens the connection, runs `fn`, closes it, and writes one `db.query` row to the org's hash-chained audit
 * log whatever happens: tool, model, parameter count, row count, query hash, duration, outcome; never rows.
 */
export async function runAudited(
  s: DbAccessServices,
  request: FastifyRequest,
  who: { orgId: string; apiKeyId: string },
  row: { id: string; mode: 'cloud' | 'agent'; envelope: ConnectionEnvelope | null },
  apiKey: string,
  info: QueryAuditInfo,
  fn: (run: Executor['run']) => Promise<SandboxResult>,
): Promise<SandboxResult> {
  const started = performance.now();
  let outcome = 'ok';
  let result: SandboxResult | undefined;
  try {
    const exec = await openExecutor(s, row, apiKey);
    try {
      result = await fn(exec.run);
      return result;
    } finally {
      await exec.close();
    }
  } catch (err) {
    outcome = err instanceof AppError ? err.code : 'error';
    throw err;
  } finally {
    await s.db.org(who.orgId, (q) =>
      appendAudit(q, actorOf(request, { apiKeyId: who.apiKeyId }), {
        orgId: who.orgId,
        action: 'db.query',
        target: `db_connection:${row.id}`,
        meta: {
          connectionId: row.id,
          tool: info.tool,
          model: info.model,
          params: info.params,
          rowCount: result?.rowCount ?? 0,
          queryHash: result?.queryHash ?? null,
          durationMs: Math.round(performance.now() - started),
          outcome,
        },
      }),
    );
  }
}
