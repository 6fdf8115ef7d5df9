/** Discovered provider configurations on openid-client, every request through the outbound guard. */
import { open } from '@rampart/core/seal';
import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { ProviderRow } from './providers.js';
import type { OidcServices } from './services.js';

/** Seconds of clock difference tolerated on ID token `exp`/`iat`/`nbf` (openid-client's default is 30). */
export const OIDC_CLOCK_TOLERANCE_S = 5;

/** Discovered provider configurations, cached per provider version (an edit re-discovers). */
export class OidcClients {
  readonly #cache = new Map<string, Promise<oidc.Configuration>>();
  constructor(private readonly s: OidcServices) {}

  config(row: ProviderRow): Promise<oidc.Configuration> {
    const key = `${row.id}:${row.updated_at.getTime()}`;
    let pending = this.#cache.get(key);
    if (!pending) {
      pending = this.#discover(row);
      pending.catch(() => this.#cache.delete(key));
      this.#cache.set(key, pending);
    }
    return pending;
  }

  async #discover(row: ProviderRow): Promise<oidc.Configuration> {
    const secret = open(this.s.ring, row.client_secret_sealed, {
      orgId: null,
      table: 'oidc_providers',
      column: 'client_secret_sealed',
      rowId: row.id,
    }).toString('utf8');
    const agent = this.s.outbound;
    // Every request to the provider (discovery, JWKS, token) goes through the outbound guard.
    const guarded: oidc.CustomFetch = (url, options) =>
      undiciFetch(url, { ...(options as object), dispatcher: agent }) as unknown as Promise<Response>;
    const insecure = new URL(row.issuer).protocol === 'http:';
    const metadata: Partial<oidc.ClientMetadata> = {
      client_secret: secret,
      [oidc.clockTolerance]: OIDC_CLOCK_TOLERANCE_S,
    };
    const config = await oidc.discovery(
      new URL(row.issuer),
      row.client_id,
      metadata,
      oidc.ClientSecretBasic(secret),
      {
        [oidc.customFetch]: guarded,
        timeout: 10,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      },
    );
    config[oidc.customFetch] = guarded;
    return config;
  }

  forget(): void {
    this.#cache.clear();
  }
}
