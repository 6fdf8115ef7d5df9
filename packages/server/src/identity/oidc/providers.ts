/** Sign-in providers (operators' configuration): issuer, client id and the sealed client secret. */
import { seal } from '@rampart/core/seal';
import type { Queryable } from '../../db/types.js';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { OidcServices } from './services.js';

export const GOOGLE_ISSUER = 'https://accounts.google.com';

export interface ProviderRow {
  id: string;
  name: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  client_secret_masked: string;
  updated_at: Date;
}

export const redirectUri = (publicUrl: string) => `${publicUrl.replace(/\/$/, '')}/api/auth/oidc/callback`;

/** An issuer must be https; plain http is accepted for loopback hosts only (local development and tests). */
export function issuerProblem(issuer: string): string | null {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return 'the issuer must be a URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return null;
  return 'the issuer must use https';
}

const PROVIDER_COLUMNS =
  'id, name, display_name, issuer, client_id, client_secret_sealed, client_secret_masked, updated_at';

export async function providerByName(q: Queryable, name: string): Promise<ProviderRow | undefined> {
  const { rows } = await q.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM oidc_providers WHERE name = $1`,
    [name],
  );
  return rows[0];
}

export async function listProviders(q: Queryable): Promise<ProviderRow[]> {
  return (await q.query<ProviderRow>(`SELECT ${PROVIDER_COLUMNS} FROM oidc_providers ORDER BY name`)).rows;
}

export async function providerById(q: Queryable, id: string): Promise<ProviderRow | undefined> {
  const { rows } = await q.query<ProviderRow>(
    `SELECT ${PROVIDER_COLUMNS} FROM oidc_providers WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Creates or replaces a provider; the client secret is sealed, and kept when not given on an update. */
export async function saveProvider(
  s: OidcServices,
  actor: AuditActor,
  input: {
    name: string;
    displayName: string;
    issuer: string;
    clientId: string;
    clientSecret?: string | undefined;
  },
): Promise<ProviderRow> {
  return s.db.platform(async (q) => {
    const existing = await providerByName(q, input.name);
    // A subject is unique only within its issuer: links made under one issuer must never sign in under another.
    if (existing && existing.issuer !== input.issuer)
      throw new AppError(
        'conflict',
        'To change a provider’s issuer, delete the provider and add it again (its linked identities are removed)',
      );
    if (!existing && !input.clientSecret)
      throw new AppError('validation_failed', 'clientSecret is required for a new provider', {
        details: { issues: [{ in: 'body', path: '/clientSecret', message: 'required' }] },
      });
    const id = existing?.id ?? newId();
    const sealed = input.clientSecret
      ? seal(s.ring, input.clientSecret, {
          orgId: null,
          table: 'oidc_providers',
          column: 'client_secret_sealed',
          rowId: id,
        })
      : (existing?.client_secret_sealed ?? '');
    const masked = input.clientSecret
      ? maskSecret(input.clientSecret)
      : (existing?.client_secret_masked ?? '');
    const { rows } = await q.query<ProviderRow>(
      `INSERT INTO oidc_providers (id, name, display_name, issuer, client_id, client_secret_sealed, client_secret_masked)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) DO UPDATE SET display_name = $3, issuer = $4, client_id = $5, client_secret_sealed = $6,
         client_secret_masked = $7, updated_at = now()
       RETURNING ${PROVIDER_COLUMNS}`,
      [id, input.name, input.displayName, input.issuer, input.clientId, sealed, masked],
    );
    await appendAudit(q, actor, {
      orgId: null,
      action: existing ? 'oidc.provider_updated' : 'oidc.provider_created',
      target: `oidc_provider:${id}`,
      meta: { name: input.name, issuer: input.issuer, clientId: input.clientId },
    });
    return rows[0] as ProviderRow;
  });
}

const maskSecret = (v: string) => (v.length <= 8 ? '••••' : `${v.slice(0, 2)}••••${v.slice(-2)}`);

/** Deletes a provider (its linked identities go with it); false when there is none by that name. */
export async function deleteProvider(s: OidcServices, name: string): Promise<boolean> {
  const del = await s.db.platform((q) => q.query('DELETE FROM oidc_providers WHERE name = $1', [name]));
  return del.rowCount !== 0;
}
