import { generateAgentToken } from '@rampart/core/apikeys';
import { type ConnectionEnvelope, openConnection } from '@rampart/core/connseal';
import pg from 'pg';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { type Resolver, systemResolver, vetDestination } from '../platform/outbound/dispatcher.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';

export interface ConnectionView {
  id: string;
  name: string;
  mode: 'cloud' | 'agent';
  createdAt: string;
  /** Agent connections, on creation only: the token `rampart agent` authenticates with (shown once). */
  agentToken?: string;
}

interface Row {
  id: string;
  name: string;
  mode: 'cloud' | 'agent';
  envelope: ConnectionEnvelope | null;
  created_at: Date;
}

const view = (r: Row): ConnectionView => ({
  id: r.id,
  name: r.name,
  mode: r.mode,
  createdAt: r.created_at.toISOString(),
});

export async function createConnection(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  input: { name: string; mode: 'cloud' | 'agent'; sealed?: ConnectionEnvelope | undefined },
): Promise<ConnectionView> {
  if (input.mode === 'cloud' && !input.sealed)
    throw new AppError(
      'validation_failed',
      'a cloud connection needs `sealed` (rampart seal-connection output)',
    );
  if (input.mode === 'agent' && input.sealed)
    throw new AppError('validation_failed', 'an agent connection keeps its connection string on the agent');
  const id = newId();
  const agentToken = input.mode === 'agent' ? generateAgentToken() : null;
  const { rows } = await q.query<Row>(
    `INSERT INTO db_connections (id, org_id, name, mode, envelope, created_by, agent_token_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING id, name, mode, envelope, created_at`,
    [
      id,
      orgId,
      input.name,
      input.mode,
      input.sealed ? JSON.stringify(input.sealed) : null,
      actor.userId ?? null,
      agentToken?.hash ?? null,
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'db.connection_created',
    target: `db_connection:${id}`,
    meta: { name: input.name, mode: input.mode },
  });
  return { ...view(rows[0] as Row), ...(agentToken ? { agentToken: agentToken.key } : {}) };
}

export async function listConnections(q: Queryable, orgId: string): Promise<ConnectionView[]> {
  const { rows } = await q.query<Row>(
    'SELECT id, name, mode, envelope, created_at FROM db_connections WHERE org_id = $1 ORDER BY created_at, id',
    [orgId],
  );
  return rows.map(view);
}

export async function getConnectionRow(q: Queryable, orgId: string, id: string): Promise<Row> {
  const { rows } = await q.query<Row>(
    'SELECT id, name, mode, envelope, created_at FROM db_connections WHERE org_id = $1 AND id = $2',
    [orgId, id],
  );
  if (!rows[0]) throw new AppError('not_found', 'Connection not found');
  return rows[0];
}

export async function deleteConnection(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
): Promise<void> {
  const del = await q.query('DELETE FROM db_connections WHERE org_id = $1 AND id = $2', [orgId, id]);
  if (del.rowCount === 0) throw new AppError('not_found', 'Connection not found');
  await appendAudit(q, actor, { orgId, action: 'db.connection_deleted', target: `db_connection:${id}` });
}

/**
 * Opens a cloud connection for one request: the envelope is decrypted with the API key the request presented,
 * the host is vetted by the outbound policy (a customer database on a private address needs an operator
 * allow-list entry, or the on-prem agent), and the client connects to exactly the vetted address (TLS keeps the
 * host name). The plaintext lives only in this function's scope and the pg client's config.
 * @throws AppError forbidden (sealed under another key) | validation_failed (not a postgres URL) | bad_gateway |
 *   upstream_timeout (no answer within `connectTimeoutMs`)
 */
export async function connectCloud(
  envelope: ConnectionEnvelope,
  apiKey: string,
  policy: OutboundPolicy,
  resolve: Resolver = systemResolver,
  connectTimeoutMs = 10_000,
): Promise<pg.Client> {
  let conn: string;
  try {
    conn = await openConnection(apiKey, envelope);
  } catch {
    throw new AppError(
      'forbidden',
      'This connection was sealed under another API key; reseal it with this key',
    );
  }
  let u: URL;
  try {
    u = new URL(conn);
  } catch {
    throw new AppError('validation_failed', 'The sealed connection string is not a postgres:// URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new AppError('validation_failed', 'The sealed connection string is not a postgres:// URL');
  const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
  let address: string;
  try {
    address = await vetDestination(host, policy, resolve);
  } catch {
    throw new AppError(
      'forbidden',
      'The database host is not an allowed destination (use the on-prem agent)',
    );
  }
  const sslmode = u.searchParams.get('sslmode');
  const client = new pg.Client({
    host: address,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    ssl:
      sslmode && sslmode !== 'disable'
        ? { servername: host, rejectUnauthorized: sslmode === 'verify-full' }
        : false,
    connectionTimeoutMillis: connectTimeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    if (/timeout/i.test(String((err as Error).message)))
      throw new AppError('upstream_timeout', `The database did not answer within ${connectTimeoutMs} ms`);
    throw new AppError('bad_gateway', 'Could not connect to the database');
  }
  return client;
}
