import { keyIdOf, type VerifiedPackage } from '@rampart/core/skillpack';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';

export interface SigningKeyRow {
  id: string;
  name: string;
  key_id: string;
  public_key: string;
  created_at: Date;
  revoked_at: Date | null;
}

export const signingKeyView = (r: SigningKeyRow) => ({
  id: r.id,
  name: r.name,
  keyId: r.key_id,
  publicKey: r.public_key,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/**
 * Registers an org's Ed25519 public key (raw 32 bytes). A key id registered before, even if since revoked,
 * is refused: revocation is permanent, so a stolen key cannot be quietly re-trusted.
 * @throws AppError conflict
 */
export async function registerSigningKey(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  name: string,
  rawPublicKey: Buffer,
): Promise<SigningKeyRow> {
  const keyId = keyIdOf(rawPublicKey);
  const id = newId();
  const { rows } = await q.query<SigningKeyRow>(
    `INSERT INTO signing_keys (id, org_id, name, key_id, public_key, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, key_id) DO NOTHING
     RETURNING id, name, key_id, public_key, created_at, revoked_at`,
    [id, orgId, name, keyId, rawPublicKey.toString('base64url'), actor.userId ?? null],
  );
  const row = rows[0];
  if (!row)
    throw new AppError(
      'conflict',
      'This public key is already registered (or was revoked, which is permanent)',
      {
        details: { keyId },
      },
    );
  await appendAudit(q, actor, {
    orgId,
    action: 'signing_key.registered',
    target: `signing_key:${id}`,
    meta: { name, keyId },
  });
  return row;
}

export async function listSigningKeys(q: Queryable, orgId: string): Promise<SigningKeyRow[]> {
  const { rows } = await q.query<SigningKeyRow>(
    `SELECT id, name, key_id, public_key, created_at, revoked_at FROM signing_keys
      WHERE org_id = $1 ORDER BY created_at, id`,
    [orgId],
  );
  return rows;
}

/** @throws AppError not_found (unknown, another org's, or already revoked) */
export async function revokeSigningKey(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
): Promise<void> {
  const { rows } = await q.query<{ key_id: string }>(
    'UPDATE signing_keys SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING key_id',
    [id, orgId],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'Signing key not found');
  await appendAudit(q, actor, {
    orgId,
    action: 'signing_key.revoked',
    target: `signing_key:${id}`,
    meta: { keyId: row.key_id },
  });
}

/** The org's active keys by key id, raw bytes: what an upload must be signed with. */
export async function activeKeys(q: Queryable, orgId: string): Promise<Map<string, Buffer>> {
  const { rows } = await q.query<{ key_id: string; public_key: string }>(
    'SELECT key_id, public_key FROM signing_keys WHERE org_id = $1 AND revoked_at IS NULL',
    [orgId],
  );
  return new Map(rows.map((r) => [r.key_id, Buffer.from(r.public_key, 'base64url')]));
}

export interface PublishedSkill {
  id: string;
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  fileCount: number;
  keyId: string;
  createdAt: string;
}

/**
 * Stores a verified package. Under a per-skill advisory lock it re-checks that the signing key is still active
 * (a revocation may have landed since verification) and that the version is above every stored one.
 * @throws AppError conflict (`details.reason`: version_not_newer | key_revoked)
 */
export async function storePackage(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  pkg: VerifiedPackage,
  bytes: Buffer,
): Promise<PublishedSkill> {
  const { name, version } = pkg.manifest;
  await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`skill:${orgId}:${name}`]);
  const key = await q.query<{ active: boolean }>(
    'SELECT revoked_at IS NULL AS active FROM signing_keys WHERE org_id = $1 AND key_id = $2',
    [orgId, pkg.signature.keyId],
  );
  if (!key.rows[0]?.active)
    throw new AppError('conflict', 'The signing key was revoked while the package was being checked', {
      details: { reason: 'key_revoked', keyId: pkg.signature.keyId },
    });
  const latest = await q.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM skill_packages WHERE org_id = $1 AND name = $2',
    [orgId, name],
  );
  const latestVersion = latest.rows[0]?.v ?? null;
  if (latestVersion !== null && version <= latestVersion)
    throw new AppError(
      'conflict',
      `Version ${version} is not above the latest published version ${latestVersion}`,
      {
        details: { reason: 'version_not_newer', latestVersion },
      },
    );
  const id = newId();
  const { rows } = await q.query<{ created_at: Date }>(
    `INSERT INTO skill_packages
       (id, org_id, name, version, key_id, manifest, sha256, size_bytes, file_count, content, uploaded_by, api_key_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING created_at`,
    [
      id,
      orgId,
      name,
      version,
      pkg.signature.keyId,
      pkg.manifestBytes.toString('utf8'),
      pkg.sha256,
      bytes.length,
      pkg.files.length,
      bytes,
      actor.userId ?? null,
      actor.apiKeyId ?? null,
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'skill.published',
    target: `skill:${name}@${version}`,
    meta: {
      name,
      version,
      keyId: pkg.signature.keyId,
      sha256: pkg.sha256,
      files: pkg.files.length,
      bytes: bytes.length,
    },
  });
  return {
    id,
    name,
    version,
    sha256: pkg.sha256,
    sizeBytes: bytes.length,
    fileCount: pkg.files.length,
    keyId: pkg.signature.keyId,
    createdAt: (rows[0]?.created_at ?? new Date()).toISOString(),
  };
}

interface PackageRow {
  name: string;
  version: number;
  sha256: string;
  size_bytes: number;
  file_count: number;
  key_id: string;
  created_at: Date;
  key_revoked: boolean;
}

const packageView = (r: PackageRow) => ({
  version: r.version,
  sha256: r.sha256,
  sizeBytes: r.size_bytes,
  fileCount: r.file_count,
  keyId: r.key_id,
  // "valid" means: verified on upload against this key, and the key is still trusted by the org.
  signature: r.key_revoked ? ('key_revoked' as const) : ('valid' as const),
  createdAt: r.created_at.toISOString(),
});

const PACKAGE_COLUMNS = `p.name, p.version, p.sha256, p.size_bytes, p.file_count, p.key_id, p.created_at,
  coalesce(k.revoked_at IS NOT NULL, true) AS key_revoked`;
const KEY_JOIN = 'LEFT JOIN signing_keys k ON k.org_id = p.org_id AND k.key_id = p.key_id';

/** Each skill with its latest version and how many versions exist (dashboard listing). */
export async function listSkills(q: Queryable, orgId: string) {
  const { rows } = await q.query<PackageRow & { versions: string }>(
    `SELECT DISTINCT ON (p.name) ${PACKAGE_COLUMNS}, count(*) OVER (PARTITION BY p.name) AS versions
       FROM skill_packages p ${KEY_JOIN} WHERE p.org_id = $1 ORDER BY p.name, p.version DESC`,
    [orgId],
  );
  return rows.map((r) => ({ name: r.name, versions: Number(r.versions), latest: packageView(r) }));
}

/** Every version of one skill, newest first. */
export async function skillVersions(q: Queryable, orgId: string, name: string) {
  const { rows } = await q.query<PackageRow>(
    `SELECT ${PACKAGE_COLUMNS} FROM skill_packages p ${KEY_JOIN}
      WHERE p.org_id = $1 AND p.name = $2 ORDER BY p.version DESC`,
    [orgId, name],
  );
  return rows.map(packageView);
}

/**
 * What a runtime may sync: per skill, the newest version signed by a key the org still trusts. A package
 * signed by a revoked key is never offered, so revoking a stolen key withdraws what it signed.
 */
export async function runtimeCatalog(q: Queryable, orgId: string) {
  const { rows } = await q.query<PackageRow>(
    `SELECT DISTINCT ON (p.name) ${PACKAGE_COLUMNS} FROM skill_packages p
       JOIN signing_keys k ON k.org_id = p.org_id AND k.key_id = p.key_id AND k.revoked_at IS NULL
      WHERE p.org_id = $1 ORDER BY p.name, p.version DESC`,
    [orgId],
  );
  return rows.map((r) => ({ name: r.name, ...packageView(r) }));
}

/** One package's bytes for a runtime (a specific version, or the newest trusted one). */
export async function packageContent(
  q: Queryable,
  orgId: string,
  name: string,
  version: number | undefined,
): Promise<{ version: number; sha256: string; content: Buffer } | null> {
  const { rows } = await q.query<{ version: number; sha256: string; content: Buffer | Uint8Array }>(
    `SELECT p.version, p.sha256, p.content FROM skill_packages p
       JOIN signing_keys k ON k.org_id = p.org_id AND k.key_id = p.key_id AND k.revoked_at IS NULL
      WHERE p.org_id = $1 AND p.name = $2 AND ($3::integer IS NULL OR p.version = $3)
      ORDER BY p.version DESC LIMIT 1`,
    [orgId, name, version ?? null],
  );
  const r = rows[0];
  if (!r) return null;
  return { version: r.version, sha256: r.sha256, content: Buffer.from(r.content) };
}
