import type { ConnectionEnvelope } from '@rampart/core/connseal';
import { checkSelect, loadSqlGuard } from '@rampart/core/sqlguard';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { connectCloud } from './connections.js';
import { auditParams, type McpClient, paramBudget } from './query-audit.js';
import { DEFAULT_LIMITS, runSandboxed, type SandboxLimits, type SandboxResult } from './sandbox.js';
import type { DbAccessServices } from './services.js';

export const AGENT_TIMEOUT_MS = 30_000;

/** The sandbox limits of this deployment: statement_timeout from RAMPART_DB_QUERY_TIMEOUT_MS. */
export const limitsOf = (s: DbAccessServices): SandboxLimits => ({
  ...DEFAULT_LIMITS,
  timeoutMs: s.config.RAMPART_DB_QUERY_TIMEOUT_MS,
});

/**
 * The most a whole call (connect, then every statement of one tool call) may take before it is aborted with
 * `upstream_timeout`: connect timeout plus three statements at their client deadline.
 */
export const callDeadlineMs = (s: DbAccessServices): number =>
  s.config.RAMPART_DB_CONNECT_TIMEOUT_MS + 3 * (s.config.RAMPART_DB_QUERY_TIMEOUT_MS + 1_000);

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
  const client = await connectCloud(
    row.envelope,
    apiKey,
    s.outboundPolicy,
    undefined,
    s.config.RAMPART_DB_CONNECT_TIMEOUT_MS,
  );
  const limits = limitsOf(s);
  return {
    run: (sql, params) => runSandboxed(client, sql, params, limits),
    close: async () => {
      // end() waits for the server to close its side; a server that never does is cut after a second.
      const cutoff = setTimeout(() => client.connection.stream.destroy(), 1_000);
      await client.end().catch(() => {});
      clearTimeout(cutoff);
    },
  };
}

/** What the query audit records about a call besides its result. */
export interface QueryAuditInfo {
  tool: string;
  /** The model the client says it is (`x-ai-model`), recorded as declared. */
  declaredModel: string | null;
  /** The MCP client (initialize handshake or bridge headers); null off MCP. */
  client: McpClient | null;
  /** The values the caller bound; the audit keeps their count and redacted, cut copies. */
  params: readonly unknown[];
}

/**
 * Opens the connection, runs `fn`, closes it, and writes one `db.query` row to the org's hash-chained audit
 * log whatever happens: the key and its creator (the row's user), tool, declared model, MCP client, parameter
 * count and PII-redacted values (each cut to 256 characters), row count, query hash, duration, outcome; never
 * rows.
 */
export async function runAudited(
  s: DbAccessServices,
  request: FastifyRequest,
  who: { orgId: string; apiKeyId: string; userId: string | null },
  row: { id: string; mode: 'cloud' | 'agent'; envelope: ConnectionEnvelope | null },
  apiKey: string,
  info: QueryAuditInfo,
  fn: (run: Executor['run']) => Promise<SandboxResult>,
): Promise<SandboxResult> {
  const started = performance.now();
  let outcome = 'ok';
  let result: SandboxResult | undefined;
  // The overall abort: whatever hangs (connect, a statement, close), the call settles and the audit row below
  // is written.
  const deadlineMs = callDeadlineMs(s);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const overall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new AppError('upstream_timeout', `The database call did not finish within ${deadlineMs} ms`));
    }, deadlineMs);
  });
  overall.catch(() => {});
  try {
    const opening = openExecutor(s, row, apiKey);
    opening.then(
      (e) => {
        if (timedOut) void e.close();
      },
      () => {},
    );
    const exec = await Promise.race([opening, overall]);
    try {
      result = await Promise.race([fn(exec.run), overall]);
      return result;
    } finally {
      await Promise.race([exec.close(), overall]).catch(() => {});
    }
  } catch (err) {
    outcome = err instanceof AppError ? err.code : 'error';
    throw err;
  } finally {
    clearTimeout(timer);
    const meta: Record<string, unknown> = {
      connectionId: row.id,
      tool: info.tool,
      declaredModel: info.declaredModel,
      clientName: info.client?.name ?? null,
      clientVersion: info.client?.version ?? null,
      clientVia: info.client?.via ?? null,
      params: info.params.length,
      rowCount: result?.rowCount ?? 0,
      queryHash: result?.queryHash ?? null,
      durationMs: Math.round(performance.now() - started),
      outcome,
    };
    // The values last, within what the 8 KiB meta has left (the count above says how many there were).
    meta.paramValues = auditParams(info.params, paramBudget(meta));
    await s.db.org(who.orgId, (q) =>
      appendAudit(q, actorOf(request, { userId: who.userId, apiKeyId: who.apiKeyId }), {
        orgId: who.orgId,
        action: 'db.query',
        target: `db_connection:${row.id}`,
        meta,
      }),
    );
  }
}
