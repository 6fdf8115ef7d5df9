import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type KeyRing, mask, openString, seal } from '@rampart/core/seal';
import { generateWebhookSecret } from '@rampart/core/webhooks';
import ipaddr from 'ipaddr.js';
import type { Queryable } from '../../db/types.js';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { checkAddress, type OutboundPolicy } from '../../platform/outbound/policy.js';
import { checkOutboundUrl } from '../../platform/outbound/url.js';

/**
 * Audit sinks (issue 26): where an org's audit log is streamed. What each kind keeps where:
 * - https: `config.url` (plain), the `whsec_` signing secret sealed (generated when not given, revealed once in
 *   the create response so the receiver can be configured), masked on read;
 * - syslog: `config.host` and `config.port` (plain); optionally a TLS client certificate (plain, shown by its
 *   SHA-256 fingerprint) and its private key (sealed, never shown) for receivers that authenticate senders.
 */
export type SinkKind = 'https' | 'syslog';

export type SinkInput =
  | { kind: 'https'; name: string; config: { url: string; secret?: string | undefined } }
  | {
      kind: 'syslog';
      name: string;
      config: {
        host: string;
        port?: number | undefined;
        clientCert?: string | undefined;
        clientKey?: string | undefined;
      };
    };

export interface SinkRow {
  id: string;
  org_id: string;
  kind: SinkKind;
  name: string;
  config: Record<string, unknown>;
  secret_sealed: string | null;
  secret_masked: string | null;
  cursor_seq: string;
  batch_last_seq: string | null;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  last_error_at: Date | null;
  last_success_at: Date | null;
  anchored_at: Date | null;
  created_at: Date;
}

export interface SinkView {
  id: string;
  kind: SinkKind;
  name: string;
  config: Record<string, unknown>;
  createdAt: string;
  /** Delivery state: how far behind the sink is and why. */
  status: {
    /** The last audit seq delivered. */
    cursorSeq: number;
    /** The org's newest audit seq. */
    headSeq: number;
    /** Rows written and not yet delivered (headSeq - cursorSeq). */
    lag: number;
    /** Failed attempts since the last success. */
    attempts: number;
    lastSuccessAt: string | null;
    lastError: string | null;
    lastErrorAt: string | null;
    nextAttemptAt: string;
    anchoredAt: string | null;
  };
}

export const sinkSealCtx = (orgId: string, id: string) => ({
  orgId,
  table: 'audit_sinks',
  column: 'secret_sealed',
  rowId: id,
});

const WHSEC = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
export const SYSLOG_TLS_PORT = 6514;

/** Every column, bigints as text (the engines differ in how they return bigint). */
export const SINK_COLUMNS =
  'id, org_id, kind, name, config, secret_sealed, secret_masked, cursor_seq::text AS cursor_seq, batch_last_seq::text AS batch_last_seq, attempts, next_attempt_at, last_error, last_error_at, last_success_at, anchored_at, created_at';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function sinkView(r: SinkRow, headSeq: number): SinkView {
  const config =
    r.kind === 'https'
      ? { url: r.config.url, secret: r.secret_masked }
      : {
          host: r.config.host,
          port: r.config.port,
          clientCert: r.config.clientCertFingerprint ?? null,
          clientKey: r.secret_sealed ? '****' : null,
        };
  const cursor = Number(r.cursor_seq);
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    config,
    createdAt: r.created_at.toISOString(),
    status: {
      cursorSeq: cursor,
      headSeq,
      lag: Math.max(0, headSeq - cursor),
      attempts: r.attempts,
      lastSuccessAt: iso(r.last_success_at),
      lastError: r.last_error,
      lastErrorAt: iso(r.last_error_at),
      nextAttemptAt: r.next_attempt_at.toISOString(),
      anchoredAt: iso(r.anchored_at),
    },
  };
}

/** The org's newest audit seq (0 before its first row), read in the org's context. */
export async function orgHeadSeq(q: Queryable, orgId: string): Promise<number> {
  const { rows } = await q.query<{ seq: string }>(
    'SELECT seq::text AS seq FROM audit_heads WHERE chain = $1',
    [orgId],
  );
  return Number(rows[0]?.seq ?? 0);
}

/**
 * A syslog host: a DNS name or an IP literal. An IP literal must pass the outbound guard now; a name is judged
 * by the guard when the worker connects (its address may change).
 * @throws AppError validation_failed naming `config.host`
 */
function checkSyslogHost(raw: string, policy: OutboundPolicy): string {
  const host = raw
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  const details = { field: 'config.host' };
  if (ipaddr.isValid(host)) {
    const v = checkAddress(host, host, policy);
    if (!v.ok)
      throw new AppError('validation_failed', `config.host is not allowed: ${v.reason}`, { details });
    return host;
  }
  if (!HOSTNAME.test(host))
    throw new AppError('validation_failed', 'config.host must be a host name or an IP address', { details });
  return host;
}

/**
 * A TLS client certificate and its private key (PEM) that belong together. @returns the certificate's SHA-256
 * fingerprint. @throws AppError validation_failed naming the field, never quoting the key
 */
function checkClientPair(certPem: string, keyPem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new AppError('validation_failed', 'config.clientCert must be a PEM certificate', {
      details: { field: 'config.clientCert' },
    });
  }
  let ok = false;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    ok = false;
  }
  if (!ok)
    throw new AppError(
      'validation_failed',
      'config.clientKey must be the PEM private key of config.clientCert',
      {
        details: { field: 'config.clientKey' },
      },
    );
  return cert.fingerprint256;
}

/**
 * Creates a sink whose cursor starts at 0: the org's whole log is delivered, oldest first. Returns the view
 * and, for an https sink whose secret the server generated, that secret (shown once).
 * @throws AppError validation_failed
 */
export async function createSink(
  q: Queryable,
  ring: KeyRing,
  policy: OutboundPolicy,
  actor: AuditActor,
  orgId: string,
  input: SinkInput,
): Promise<{ view: SinkView; revealedSecret?: string }> {
  const id = newId();
  let config: Record<string, unknown>;
  let secret: string | null = null;
  let revealed: string | undefined;
  if (input.kind === 'https') {
    const u = checkOutboundUrl(input.config.url, policy, { field: 'config.url', allowQuery: true });
    if (u.protocol !== 'https:')
      throw new AppError('validation_failed', 'config.url must use https', {
        details: { field: 'config.url' },
      });
    config = { url: u.toString() };
    if (input.config.secret !== undefined && !WHSEC.test(input.config.secret))
      throw new AppError(
        'validation_failed',
        'config.secret must be a whsec_ secret (base64 after the prefix)',
        {
          details: { field: 'config.secret' },
        },
      );
    secret = input.config.secret ?? generateWebhookSecret();
    if (input.config.secret === undefined) revealed = secret;
  } else {
    config = { host: checkSyslogHost(input.config.host, policy), port: input.config.port ?? SYSLOG_TLS_PORT };
    const { clientCert, clientKey } = input.config;
    if ((clientCert === undefined) !== (clientKey === undefined))
      throw new AppError('validation_failed', 'config.clientCert and config.clientKey go together', {
        details: { field: clientCert === undefined ? 'config.clientCert' : 'config.clientKey' },
      });
    if (clientCert !== undefined && clientKey !== undefined) {
      const fingerprint = checkClientPair(clientCert, clientKey);
      config = { ...config, clientCert, clientCertFingerprint: fingerprint };
      secret = clientKey;
    }
  }
  const { rows } = await q.query<SinkRow>(
    `INSERT INTO audit_sinks (id, org_id, kind, name, config, secret_sealed, secret_masked)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${SINK_COLUMNS}`,
    [
      id,
      orgId,
      input.kind,
      input.name,
      JSON.stringify(config),
      secret === null ? null : seal(ring, secret, sinkSealCtx(orgId, id)),
      secret === null ? null : input.kind === 'https' ? mask(secret) : '****',
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'audit_sink.created',
    target: `audit_sink:${id}`,
    meta: { kind: input.kind, name: input.name },
  });
  const view = sinkView(rows[0] as SinkRow, await orgHeadSeq(q, orgId));
  return { view, ...(revealed ? { revealedSecret: revealed } : {}) };
}

export async function listSinks(q: Queryable, orgId: string): Promise<SinkView[]> {
  const { rows } = await q.query<SinkRow>(
    `SELECT ${SINK_COLUMNS} FROM audit_sinks WHERE org_id = $1 ORDER BY created_at, id`,
    [orgId],
  );
  const head = await orgHeadSeq(q, orgId);
  return rows.map((r) => sinkView(r, head));
}

export async function getSink(q: Queryable, orgId: string, id: string): Promise<SinkView> {
  const { rows } = await q.query<SinkRow>(
    `SELECT ${SINK_COLUMNS} FROM audit_sinks WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
  if (!rows[0]) throw new AppError('not_found', 'Audit sink not found');
  return sinkView(rows[0], await orgHeadSeq(q, orgId));
}

export async function deleteSink(q: Queryable, actor: AuditActor, orgId: string, id: string): Promise<void> {
  const { rows } = await q.query<{ name: string; kind: string }>(
    'DELETE FROM audit_sinks WHERE org_id = $1 AND id = $2 RETURNING name, kind',
    [orgId, id],
  );
  if (!rows[0]) throw new AppError('not_found', 'Audit sink not found');
  await appendAudit(q, actor, {
    orgId,
    action: 'audit_sink.deleted',
    target: `audit_sink:${id}`,
    meta: { kind: rows[0].kind, name: rows[0].name },
  });
}

/** The plaintext signing secret of an https sink (delivery only). */
export function openSinkSecret(ring: KeyRing, r: SinkRow): string {
  if (!r.secret_sealed) throw new Error('sink has no secret');
  return openString(ring, r.secret_sealed, sinkSealCtx(r.org_id, r.id));
}
