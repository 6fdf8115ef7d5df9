import { type KeyRing, mask, openString, seal } from '@rampart/core/seal';
import { generateWebhookSecret } from '@rampart/core/webhooks';
import ipaddr from 'ipaddr.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { requireCredentialTransport } from '../platform/outbound/transport.js';
import { checkOutboundUrl } from '../platform/outbound/url.js';

/**
 * Alert channels. What each type keeps where:
 * - webhook: `config.url` (plain), the `whsec_` signing secret sealed (generated when not given, revealed once
 *   in the create response so the receiver can be configured);
 * - slack: the incoming-webhook URL sealed whole (the URL is the credential), masked on read;
 * - teams: the Microsoft Teams incoming-webhook (or Workflows trigger) URL sealed whole, masked on read;
 * - email: `config.to` recipients (plain).
 */
export type ChannelType = 'webhook' | 'slack' | 'teams' | 'email';

export type ChannelInput =
  | { type: 'webhook'; name: string; config: { url: string; secret?: string | undefined } }
  | { type: 'slack'; name: string; config: { webhookUrl: string } }
  | { type: 'teams'; name: string; config: { webhookUrl: string } }
  | { type: 'email'; name: string; config: { to: string[] } };

export interface ChannelView {
  id: string;
  type: ChannelType;
  name: string;
  config: Record<string, unknown>;
  createdAt: string;
}

export interface ChannelRow {
  id: string;
  org_id: string;
  type: ChannelType;
  name: string;
  config: Record<string, unknown>;
  secret_sealed: string | null;
  secret_masked: string | null;
  created_at: Date;
}

/** A channel ready to deliver to: its plaintext secret opened. */
export type OpenChannel =
  | { id: string; type: 'webhook'; name: string; url: string; secret: string }
  | { id: string; type: 'slack'; name: string; webhookUrl: string }
  | { id: string; type: 'teams'; name: string; webhookUrl: string }
  | { id: string; type: 'email'; name: string; to: string[] };

const sealCtx = (orgId: string, id: string) => ({
  orgId,
  table: 'alert_channels',
  column: 'secret_sealed',
  rowId: id,
});

const WHSEC = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/**
 * Where Teams posts may go: classic incoming webhooks (`<tenant>.webhook.office.com`) and Workflows / Power
 * Automate triggers (`*.logic.azure.com`, `*.powerplatform.com`, which covers
 * `*.environment.api.powerplatform.com`). Always a subdomain, never the bare suffix.
 */
export const TEAMS_HOST_SUFFIXES = ['.webhook.office.com', '.logic.azure.com', '.powerplatform.com'] as const;

/** Whether the operator allow-list (RAMPART_OUTBOUND_ALLOW) names this URL's host itself, by name or address. */
function operatorAllowListed(u: URL, policy: OutboundPolicy): boolean {
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (policy.hosts.has(host)) return true;
  if (!ipaddr.isValid(host)) return false;
  const a = ipaddr.parse(host);
  return policy.cidrs.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits));
}

/**
 * A Teams webhook URL: https on a Teams / Power Automate host. The query is kept (Workflows URLs carry their
 * `sig` there; the whole URL is sealed). A host the operator allow-listed explicitly is exempt from the https
 * and host rules, the same override that lets Slack and webhook channels reach non-public receivers (and tests
 * reach a local stub); the outbound guard still judges the connected address at send time.
 * @throws AppError validation_failed, naming `config.webhookUrl`
 */
function checkTeamsUrl(raw: string, policy: OutboundPolicy): string {
  const field = 'config.webhookUrl';
  const u = checkOutboundUrl(raw, policy, { field, allowQuery: true });
  if (operatorAllowListed(u, policy)) return u.toString();
  if (u.protocol !== 'https:')
    throw new AppError('validation_failed', `${field} must use https`, { details: { field } });
  const host = u.hostname;
  if (!TEAMS_HOST_SUFFIXES.some((s) => host.endsWith(s) && host.length > s.length))
    throw new AppError(
      'validation_failed',
      `${field} must be a Microsoft Teams incoming-webhook or Workflows URL (a host under ${TEAMS_HOST_SUFFIXES.map((s) => `*${s}`).join(', ')})`,
      { details: { field } },
    );
  return u.toString();
}

export function channelView(r: ChannelRow): ChannelView {
  const config =
    r.type === 'webhook'
      ? { url: r.config.url, secret: r.secret_masked }
      : r.type === 'slack' || r.type === 'teams'
        ? { webhookUrl: r.secret_masked }
        : { to: r.config.to };
  return { id: r.id, type: r.type, name: r.name, config, createdAt: r.created_at.toISOString() };
}

/**
 * Creates a channel. Returns the view and, for a webhook channel whose secret the server generated, that
 * secret (shown once).
 * @throws AppError validation_failed
 */
export async function createChannel(
  q: Queryable,
  ring: KeyRing,
  policy: OutboundPolicy,
  actor: AuditActor,
  orgId: string,
  input: ChannelInput,
): Promise<{ view: ChannelView; revealedSecret?: string }> {
  const id = newId();
  let config: Record<string, unknown> = {};
  let secret: string | null = null;
  let revealed: string | undefined;
  if (input.type === 'webhook') {
    const u = checkOutboundUrl(input.config.url, policy, { field: 'config.url', allowQuery: true });
    // Every delivery is signed with the channel's secret: https only (loopback / allow-listed hosts aside).
    requireCredentialTransport(u, policy, 'config.url');
    config = { url: u.toString() };
    if (input.config.secret !== undefined && !WHSEC.test(input.config.secret))
      throw new AppError(
        'validation_failed',
        'config.secret must be a whsec_ secret (base64 after the prefix)',
      );
    secret = input.config.secret ?? generateWebhookSecret();
    if (input.config.secret === undefined) revealed = secret;
  } else if (input.type === 'slack') {
    // The URL is the credential: https, unless the host is loopback or operator allow-listed (how tests reach a
    // local stub).
    const u = checkOutboundUrl(input.config.webhookUrl, policy, {
      field: 'config.webhookUrl',
      allowQuery: false,
    });
    requireCredentialTransport(u, policy, 'config.webhookUrl');
    secret = u.toString();
  } else if (input.type === 'teams') {
    // Sealed whole, like Slack's: whoever holds the URL can post to the channel.
    secret = checkTeamsUrl(input.config.webhookUrl, policy);
  } else {
    config = { to: [...new Set(input.config.to.map((t) => t.toLowerCase()))] };
  }
  const { rows } = await q.query<ChannelRow>(
    `INSERT INTO alert_channels (id, org_id, type, name, config, secret_sealed, secret_masked)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [
      id,
      orgId,
      input.type,
      input.name,
      JSON.stringify(config),
      secret === null ? null : seal(ring, secret, sealCtx(orgId, id)),
      secret === null ? null : mask(secret),
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'alert_channel.created',
    target: `alert_channel:${id}`,
    meta: { type: input.type, name: input.name },
  });
  return { view: channelView(rows[0] as ChannelRow), ...(revealed ? { revealedSecret: revealed } : {}) };
}

export async function listChannels(q: Queryable, orgId: string): Promise<ChannelView[]> {
  const { rows } = await q.query<ChannelRow>(
    'SELECT * FROM alert_channels WHERE org_id = $1 ORDER BY created_at, id',
    [orgId],
  );
  return rows.map(channelView);
}

export async function getChannel(q: Queryable, orgId: string, id: string): Promise<ChannelView> {
  const { rows } = await q.query<ChannelRow>('SELECT * FROM alert_channels WHERE org_id = $1 AND id = $2', [
    orgId,
    id,
  ]);
  if (!rows[0]) throw new AppError('not_found', 'Alert channel not found');
  return channelView(rows[0]);
}

/** Deletes a channel and removes it from every job that used it, in one transaction. */
export async function deleteChannel(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
): Promise<void> {
  const { rows } = await q.query<{ name: string }>(
    'DELETE FROM alert_channels WHERE org_id = $1 AND id = $2 RETURNING name',
    [orgId, id],
  );
  if (!rows[0]) throw new AppError('not_found', 'Alert channel not found');
  await q.query(
    `UPDATE jobs SET alert_channel_ids = array_remove(alert_channel_ids, $2::uuid)
      WHERE org_id = $1 AND $2::uuid = ANY(alert_channel_ids)`,
    [orgId, id],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'alert_channel.deleted',
    target: `alert_channel:${id}`,
    meta: { name: rows[0].name },
  });
}

/** Channels by id with their secrets opened, for delivery (ids of other orgs simply do not appear: RLS). */
export async function openChannels(
  q: Queryable,
  ring: KeyRing,
  orgId: string,
  ids: readonly string[],
): Promise<OpenChannel[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ChannelRow>(
    'SELECT * FROM alert_channels WHERE org_id = $1 AND id = ANY($2::uuid[]) ORDER BY created_at, id',
    [orgId, ids],
  );
  return rows.map((r): OpenChannel => {
    const secret = r.secret_sealed ? openString(ring, r.secret_sealed, sealCtx(orgId, r.id)) : '';
    if (r.type === 'webhook')
      return { id: r.id, type: 'webhook', name: r.name, url: String(r.config.url), secret };
    if (r.type === 'slack') return { id: r.id, type: 'slack', name: r.name, webhookUrl: secret };
    if (r.type === 'teams') return { id: r.id, type: 'teams', name: r.name, webhookUrl: secret };
    return { id: r.id, type: 'email', name: r.name, to: (r.config.to as string[]) ?? [] };
  });
}
