/**
 * Skill packages on the server: signing-key registration, upload with the full check (signature by a registered
 * key, every hash, no unlisted file, the auth-file scan, versions only going up), runtime-token-only sync routes,
 * revocation withdrawing what a key signed, and credential scoping (sessions, API keys, runtime tokens each
 * reach only their own routes).
 */
import { randomBytes } from 'node:crypto';
import { writeArchive } from '@rampart/core/skillpack';
import { type Account, addMemberWithRole, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';
import { makePackage, makeSigner, type Signer, upload, workflowFiles } from './skills-support.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Err = {
  error: string;
  message: string;
  reason?: string;
  findings?: Array<{ path: string; kind: string }>;
};

describe.each(ENGINES)('skill packages (%s)', (engine) => {
  let srv: Srv;
  let owner: Account;
  let signer: Signer;
  let signingKeyId: string;
  let apiKey: string;
  let runtimeToken: string;
  const o = () => `/api/orgs/${owner.orgId}`;
  const asOwner = () => api(srv.baseUrl, owner.token);
  const asRuntime = () => api(srv.baseUrl, runtimeToken);
  const count = async (table: string) =>
    srv.rampart.services.db.org(owner.orgId, async (q) =>
      Number(
        (await q.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE org_id = $1`, [owner.orgId]))
          .rows[0]?.n,
      ),
    );

  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_SKILL_MAX_BYTES: String(256 * 1024) });
    owner = await signup(srv.baseUrl);
    signer = makeSigner();
    const reg = await asOwner().post<{ id: string; keyId: string }>(`${o()}/signing-keys`, {
      name: 'ci builder',
      publicKey: signer.publicKeyPem,
    });
    expect(reg.status, reg.text).toBe(201);
    expect(reg.body.keyId).toBe(signer.keyId);
    signingKeyId = reg.body.id;
    apiKey = (await asOwner().post<{ key: string }>(`${o()}/api-keys`, { name: 'ci' })).body.key;
    runtimeToken = (await asOwner().post<{ token: string }>(`${o()}/runtime-tokens`, { name: 'rt' })).body
      .token;
  });
  afterAll(() => srv?.close());

  describe('signing keys', () => {
    it('accepts the raw 32-byte key in base64 too, and refuses the same key twice (409)', async () => {
      const other = makeSigner();
      const raw = (await import('@rampart/core/skillpack'))
        .parsePublicKey(other.publicKeyPem)
        .toString('base64');
      const r = await asOwner().post<{ keyId: string }>(`${o()}/signing-keys`, { publicKey: raw });
      expect(r.status, r.text).toBe(201);
      expect(r.body.keyId).toBe(other.keyId);
      const again = await asOwner().post<Err>(`${o()}/signing-keys`, { publicKey: other.publicKeyPem });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('conflict');
    });

    it('refuses what is not an Ed25519 public key (400), naming the field, echoing nothing', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        type: 'spki',
        format: 'pem',
      });
      for (const publicKey of [String(rsa), 'not a key', Buffer.alloc(31, 1).toString('base64'), '']) {
        const r = await asOwner().post<Err & { issues?: Array<{ path: string }> }>(`${o()}/signing-keys`, {
          publicKey,
        });
        expect(r.status, publicKey).toBe(400);
        expect(r.body.error).toBe('validation_failed');
        if (publicKey.length > 8) expect(r.text.includes(publicKey)).toBe(false);
      }
    });
  });

  describe('upload', () => {
    it('publishes a signed package with a session, then with an API key; the dashboard lists both versions', async () => {
      const v1 = await upload(
        srv.baseUrl,
        owner.token,
        owner.orgId,
        await makePackage(signer, 'invoices', 1),
      );
      expect(v1.status, v1.text).toBe(201);
      expect(v1.body).toMatchObject({ name: 'invoices', version: 1, fileCount: 4, keyId: signer.keyId });
      const v2 = await upload(srv.baseUrl, apiKey, owner.orgId, await makePackage(signer, 'invoices', 2));
      expect(v2.status, v2.text).toBe(201);
      const list = await asOwner().get<{
        skills: Array<{ name: string; versions: number; latest: { version: number; signature: string } }>;
      }>(`${o()}/skills`);
      expect(list.body.skills).toEqual([
        expect.objectContaining({
          name: 'invoices',
          versions: 2,
          latest: expect.objectContaining({ version: 2, signature: 'valid' }),
        }),
      ]);
      const versions = await asOwner().get<{ versions: Array<{ version: number }> }>(
        `${o()}/skills/invoices`,
      );
      expect(versions.body.versions.map((v) => v.version)).toEqual([2, 1]);
      expect((await asOwner().get(`${o()}/skills/nosuch`)).status).toBe(404);
      const audit = await asOwner().get<{
        entries: Array<{ action: string; target: string; apiKeyId: string | null }>;
      }>(`${o()}/audit?action=skill.published`);
      expect(audit.body.entries.map((e) => e.target).sort()).toEqual([
        'skill:invoices@1',
        'skill:invoices@2',
      ]);
      expect(audit.body.entries.some((e) => e.apiKeyId !== null)).toBe(true);
    });

    it('versions only go up: the same or a lower version is 409 version_not_newer', async () => {
      for (const v of [2, 1]) {
        const r = await upload(
          srv.baseUrl,
          owner.token,
          owner.orgId,
          await makePackage(signer, 'invoices', v),
        );
        expect(r.status, r.text).toBe(409);
        expect(r.body).toMatchObject({ error: 'conflict', reason: 'version_not_newer', latestVersion: 2 });
      }
    });

    it('refuses, storing nothing: an unregistered key, a tampered file, an unlisted file, garbage', async () => {
      const before = await count('skill_packages');
      const stranger = makeSigner();
      const good = await makePackage(signer, 'reports', 1);
      const tampered = Buffer.from(good);
      const at = tampered.indexOf('button#export');
      tampered[at] = 'B'.charCodeAt(0);
      const { readArchive } = await import('@rampart/core/skillpack');
      const entries = await readArchive(good, 100);
      const extra = await writeArchive([...entries, { name: 'files/extra.js', bytes: Buffer.from('1') }]);
      const cases: Array<[string, Buffer, string]> = [
        ['unregistered key', await makePackage(stranger, 'reports', 1), 'untrusted_key'],
        ['tampered file', tampered, 'hash_mismatch'],
        ['unlisted file', extra, 'unexpected_file'],
        ['random bytes', randomBytes(4096), 'malformed_package'],
      ];
      for (const [what, bytes, reason] of cases) {
        const r = await upload(srv.baseUrl, owner.token, owner.orgId, bytes);
        expect(r.status, `${what}: ${r.text}`).toBe(422);
        expect(r.body, what).toMatchObject({ error: 'package_rejected', reason });
      }
      expect(await count('skill_packages')).toBe(before);
    });

    it('repeats the auth-file scan: a correctly signed package holding a storage state is refused with its path', async () => {
      const files = [
        ...workflowFiles(),
        {
          path: 'auth/state.json',
          bytes: Buffer.from(
            JSON.stringify({ cookies: [{ name: 'sid', value: 'c00kie-value-123' }], origins: [] }),
          ),
        },
      ];
      const r = await upload(
        srv.baseUrl,
        owner.token,
        owner.orgId,
        await makePackage(signer, 'leaky', 1, files),
      );
      expect(r.status, r.text).toBe(422);
      expect(r.body.reason).toBe('auth_material');
      expect(r.body.findings).toEqual([
        expect.objectContaining({ path: 'auth/state.json', kind: 'storage_state' }),
      ]);
      expect(r.text.includes('c00kie-value-123')).toBe(false);
      const audit = await asOwner().get<{ entries: Array<{ meta: { reason: string; paths: string[] } }> }>(
        `${o()}/audit?action=skill.rejected`,
      );
      expect(
        audit.body.entries.some(
          (e) => e.meta.reason === 'auth_material' && e.meta.paths.includes('auth/state.json'),
        ),
      ).toBe(true);
      expect((await asOwner().get(`${o()}/skills/leaky`)).status).toBe(404);
    });

    it('body rules: JSON is 415, empty is 400, over RAMPART_SKILL_MAX_BYTES is 413', async () => {
      const json = await upload(srv.baseUrl, owner.token, owner.orgId, Buffer.from('{}'), 'application/json');
      expect(json.status).toBe(415);
      expect(json.body.error).toBe('unsupported_media_type');
      const empty = await upload(srv.baseUrl, owner.token, owner.orgId, Buffer.alloc(0));
      expect(empty.status).toBe(400);
      const big = await upload(srv.baseUrl, owner.token, owner.orgId, randomBytes(300 * 1024));
      expect(big.status).toBe(413);
      expect(big.body.error).toBe('payload_too_large');
      expect(String(big.body.message)).toContain(String(256 * 1024));
    });

    it('a runtime token cannot publish (401); another org’s API key gets 404', async () => {
      const pkg = await makePackage(signer, 'invoices', 9);
      expect((await upload(srv.baseUrl, runtimeToken, owner.orgId, pkg)).status).toBe(401);
      const other = await signup(srv.baseUrl);
      const otherKey = (
        await api(srv.baseUrl, other.token).post<{ key: string }>(`/api/orgs/${other.orgId}/api-keys`, {
          name: 'x',
        })
      ).body.key;
      const r = await upload(srv.baseUrl, otherKey, owner.orgId, pkg);
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('not_found');
    });
  });

  describe('API key scopes', () => {
    // An org of its own, so these packages stay out of the main org's catalog.
    let org: Account;
    let orgSigner: Signer;
    beforeAll(async () => {
      org = await signup(srv.baseUrl);
      orgSigner = makeSigner();
      const reg = await api(srv.baseUrl, org.token).post(`/api/orgs/${org.orgId}/signing-keys`, {
        name: 'scopes builder',
        publicKey: orgSigner.publicKeyPem,
      });
      expect(reg.status, reg.text).toBe(201);
    });
    const key = async (token: string, orgId: string, body: Record<string, unknown>) => {
      const a = api(srv.baseUrl, token);
      const r = await a.post<{ id: string; key: string }>(`/api/orgs/${orgId}/api-keys`, body);
      expect(r.status, r.text).toBe(201);
      const listed = await a.get<{ keys: Array<{ id: string; scopes: string[] }> }>(
        `/api/orgs/${orgId}/api-keys`,
      );
      return { key: r.body.key, scopes: listed.body.keys.find((k) => k.id === r.body.id)?.scopes };
    };

    it('an API key without the skills.publish scope cannot publish (403), nor one limited to it reach the gateway', async () => {
      const gatewayOnly = await key(org.token, org.orgId, { name: 'gw only', scopes: ['gateway'] });
      expect(gatewayOnly.scopes).toEqual(['gateway']);
      const r = await upload(
        srv.baseUrl,
        gatewayOnly.key,
        org.orgId,
        await makePackage(orgSigner, 'scoped', 1),
      );
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body.error).toBe('forbidden');
      expect((await api(srv.baseUrl, gatewayOnly.key).get('/v1/models')).status).toBe(200);
      const publishOnly = await key(org.token, org.orgId, {
        name: 'pub only',
        scopes: ['skills.publish'],
      });
      expect((await api(srv.baseUrl, publishOnly.key).get('/v1/models')).status).toBe(403);
      const ok = await upload(
        srv.baseUrl,
        publishOnly.key,
        org.orgId,
        await makePackage(orgSigner, 'scoped', 1),
      );
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      // Omitted scopes keep what every key could do before scopes existed; listed with each key.
      const dflt = await key(org.token, org.orgId, { name: 'default' });
      expect(dflt.scopes).toEqual(['gateway', 'db.query', 'skills.publish']);
      const listed = await api(srv.baseUrl, org.token).get<{
        keys: Array<{ name: string; scopes: string[] }>;
      }>(`/api/orgs/${org.orgId}/api-keys`);
      expect(listed.body.keys.find((k) => k.name === 'gw only')?.scopes).toEqual(['gateway']);
      for (const scopes of [[], ['root'], 'gateway'])
        expect(
          (await api(srv.baseUrl, org.token).post(`/api/orgs/${org.orgId}/api-keys`, { name: 'bad', scopes }))
            .status,
        ).toBe(400);
    });

    it('an API key stops publishing once its creator is demoted below skills.publish or removed from the org', async () => {
      const admin = await addMemberWithRole(srv, org.token, org.orgId, 'admin');
      const k = await key(admin.token, org.orgId, { name: 'admin ci' });
      expect(
        (await upload(srv.baseUrl, k.key, org.orgId, await makePackage(orgSigner, 'demoted', 1))).status,
      ).toBe(201);
      expect(
        (
          await api(srv.baseUrl, org.token).patch(`/api/orgs/${org.orgId}/members/${admin.userId}`, {
            role: 'viewer',
          })
        ).status,
      ).toBe(200);
      const demoted = await upload(srv.baseUrl, k.key, org.orgId, await makePackage(orgSigner, 'demoted', 2));
      expect(demoted.status, JSON.stringify(demoted.body)).toBe(403);
      expect(
        (
          await api(srv.baseUrl, org.token).patch(`/api/orgs/${org.orgId}/members/${admin.userId}`, {
            role: 'admin',
          })
        ).status,
      ).toBe(200);
      expect(
        (await upload(srv.baseUrl, k.key, org.orgId, await makePackage(orgSigner, 'demoted', 2))).status,
      ).toBe(201);
      expect(
        (await api(srv.baseUrl, org.token).del(`/api/orgs/${org.orgId}/members/${admin.userId}`)).status,
      ).toBe(200);
      const removed = await upload(srv.baseUrl, k.key, org.orgId, await makePackage(orgSigner, 'demoted', 3));
      expect(removed.status).toBe(403);
    });
  });

  describe('runtime routes', () => {
    it('a runtime token lists the catalog, the keys, and downloads the exact uploaded bytes', async () => {
      const v3 = await makePackage(signer, 'invoices', 3);
      expect((await upload(srv.baseUrl, owner.token, owner.orgId, v3)).status).toBe(201);
      const cat = await asRuntime().get<{ skills: Array<{ name: string; version: number; sha256: string }> }>(
        '/api/runtime/skills',
      );
      expect(cat.body.skills).toEqual([expect.objectContaining({ name: 'invoices', version: 3 })]);
      const keys = await asRuntime().get<{ keys: Array<{ keyId: string; revoked: boolean }> }>(
        '/api/runtime/signing-keys',
      );
      expect(keys.body.keys).toContainEqual(expect.objectContaining({ keyId: signer.keyId, revoked: false }));
      const res = await fetch(`${srv.baseUrl}/api/runtime/skills/invoices/package`, {
        headers: { authorization: `Bearer ${runtimeToken}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rampart-skill-version')).toBe('3');
      expect(Buffer.from(await res.arrayBuffer()).equals(v3)).toBe(true);
      const old = await fetch(`${srv.baseUrl}/api/runtime/skills/invoices/package?version=1`, {
        headers: { authorization: `Bearer ${runtimeToken}` },
      });
      expect(res.status).toBe(200);
      expect(old.headers.get('x-rampart-skill-version')).toBe('1');
    });

    it('credentials stay in their lane: sessions and API keys get 401 on runtime routes, runtime tokens on org routes', async () => {
      for (const cred of [owner.token, apiKey]) {
        for (const path of [
          '/api/runtime/skills',
          '/api/runtime/signing-keys',
          '/api/runtime/skills/invoices/package',
        ]) {
          const r = await api(srv.baseUrl, cred).get<Err>(path);
          expect(r.status, path).toBe(401);
        }
      }
      for (const path of [`${o()}/skills`, `${o()}/signing-keys`, `${o()}/runtime-telemetry`]) {
        expect((await asRuntime().get(path)).status, path).toBe(401);
      }
    });

    it("another org's runtime token sees none of this org's skills and cannot download them (404)", async () => {
      const other = await signup(srv.baseUrl);
      const rt = (
        await api(srv.baseUrl, other.token).post<{ token: string }>(
          `/api/orgs/${other.orgId}/runtime-tokens`,
          { name: 'x' },
        )
      ).body.token;
      const cat = await api(srv.baseUrl, rt).get<{ skills: unknown[] }>('/api/runtime/skills');
      expect(cat.body.skills).toEqual([]);
      const dl = await api(srv.baseUrl, rt).get<Err>('/api/runtime/skills/invoices/package');
      expect(dl.status).toBe(404);
      expect(dl.text.includes(signer.keyId)).toBe(false);
      const keys = await api(srv.baseUrl, rt).get<{ keys: unknown[] }>('/api/runtime/signing-keys');
      expect(keys.body.keys).toEqual([]);
    });

    it('revoking a key withdraws what it signed from runtimes, marks it in the dashboard, and is permanent', async () => {
      const second = makeSigner();
      const reg = await asOwner().post<{ id: string }>(`${o()}/signing-keys`, {
        publicKey: second.publicKeyPem,
      });
      expect(
        (await upload(srv.baseUrl, owner.token, owner.orgId, await makePackage(second, 'invoices', 4)))
          .status,
      ).toBe(201);
      const latest = async () =>
        (await asRuntime().get<{ skills: Array<{ version: number }> }>('/api/runtime/skills')).body.skills[0]
          ?.version;
      expect(await latest()).toBe(4);
      expect((await asOwner().del(`${o()}/signing-keys/${reg.body.id}`)).status).toBe(200);
      expect(await latest()).toBe(3);
      const v4 = await asRuntime().get('/api/runtime/skills/invoices/package?version=4');
      expect(v4.status).toBe(404);
      const dash = await asOwner().get<{ versions: Array<{ version: number; signature: string }> }>(
        `${o()}/skills/invoices`,
      );
      expect(dash.body.versions[0]).toMatchObject({ version: 4, signature: 'key_revoked' });
      const reuse = await upload(
        srv.baseUrl,
        owner.token,
        owner.orgId,
        await makePackage(second, 'invoices', 5),
      );
      expect(reuse.body).toMatchObject({ error: 'package_rejected', reason: 'untrusted_key' });
      const again = await asOwner().post<Err>(`${o()}/signing-keys`, { publicKey: second.publicKeyPem });
      expect(again.status).toBe(409);
      expect((await asOwner().del(`${o()}/signing-keys/${reg.body.id}`)).status).toBe(404);
      expect(signingKeyId).toBeTruthy();
    });
  });
});
