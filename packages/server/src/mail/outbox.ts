import { type KeyRing, openString, seal } from '@rampart/core/seal';
import type { Queryable } from '../db/types.js';
import { newId } from '../platform/ids.js';
import { type MailTemplate, renderMail } from './templates.js';

/** The sealed part of an outbox row: everything that could carry a secret (links) or personal data. */
export interface OutboxPayload {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface EnqueueMail {
  to: string;
  template: MailTemplate;
  /** The account the mail is about (deleting the account keeps the delivery record, without the link). */
  userId?: string | null;
  /** The org the mail belongs to (job alerts); the org's deletion removes its rows. */
  orgId?: string | null;
  /** What the mail is about, for the outcome's audit row (job alerts: jobId, channelId, alert, runId). */
  ref?: Record<string, string>;
}

const aad = (rowId: string) => ({ orgId: null, table: 'mail_outbox', column: 'payload_sealed', rowId });

/** `jane@example.com` → `j***@example.com`: enough for an operator to recognise a delivery, no more. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address.slice(0, 1)}***${address.slice(at)}`.slice(0, 320);
}

const listeners = new Set<() => void>();

/** Lets a node's worker hear that this process just queued mail (it still polls for other nodes' mail). */
export function onMailQueued(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Queues one mail in the caller's transaction: if the action that causes the mail rolls back, so does the mail,
 * and once it commits the mail survives any restart. The rendered message is sealed (AES-256-GCM under the
 * master key) because it carries single-use links. Works in platform context and in an org's own context.
 * @returns the outbox row id
 */
export async function enqueueMail(q: Queryable, ring: KeyRing, m: EnqueueMail): Promise<string> {
  const id = newId();
  const rendered = renderMail(m.template);
  const payload: OutboxPayload = { to: m.to, ...rendered };
  await q.query(
    `INSERT INTO mail_outbox (id, kind, org_id, user_id, ref, to_masked, payload_sealed)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      id,
      m.template.kind,
      m.orgId ?? null,
      m.userId ?? null,
      JSON.stringify(m.ref ?? {}),
      maskAddress(m.to),
      seal(ring, JSON.stringify(payload), aad(id)),
    ],
  );
  // The transaction has not committed yet: the worker looks shortly after, and again a little later in case the
  // transaction took longer; its regular poll catches anything slower.
  for (const delay of [25, 250]) {
    setTimeout(() => {
      for (const l of listeners) l();
    }, delay).unref();
  }
  return id;
}

/** Opens a claimed row's envelope. */
export function openPayload(ring: KeyRing, rowId: string, sealed: string): OutboxPayload {
  return JSON.parse(openString(ring, sealed, aad(rowId))) as OutboxPayload;
}
