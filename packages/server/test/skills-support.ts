import { createHash, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildPackage,
  generateSigningKeyPair,
  keyIdOf,
  type PackageFile,
  parsePrivateKey,
  parsePublicKey,
} from '@rampart/core/skillpack';

/** A builder's Ed25519 signing pair, as `rampart keys generate` makes it. */
export interface Signer {
  privateKey: KeyObject;
  publicKeyPem: string;
  keyId: string;
}

export function makeSigner(): Signer {
  const pair = generateSigningKeyPair();
  return {
    privateKey: parsePrivateKey(pair.privateKeyPem),
    publicKeyPem: pair.publicKeyPem,
    keyId: keyIdOf(parsePublicKey(pair.publicKeyPem)),
  };
}

/** Ordinary workflow files: JSON and YAML steps and a JS helper, no auth material. */
export function workflowFiles(tag = 'v1'): PackageFile[] {
  return [
    {
      path: 'skill.json',
      bytes: Buffer.from(JSON.stringify({ name: 'invoices', entry: 'steps/main.json' })),
    },
    {
      path: 'steps/main.json',
      bytes: Buffer.from(
        JSON.stringify({
          steps: [
            { goto: 'https://billing.example.com/invoices' },
            { click: 'button#export' },
            { waitFor: 'text=Export ready', tag },
          ],
        }),
      ),
    },
    { path: 'steps/login.yaml', bytes: Buffer.from('- fill: { selector: "#user", from: "session" }\n') },
    { path: 'lib/parse.js', bytes: Buffer.from(`export const parse = (row) => row.split(','); // ${tag}\n`) },
  ];
}

export async function makePackage(
  signer: Signer,
  name: string,
  version: number,
  files: PackageFile[] = workflowFiles(`v${version}`),
): Promise<Buffer> {
  return (await buildPackage({ name, version, files }, signer.privateKey)).bytes;
}

/** POSTs a package file as the upload route expects it (raw bytes, application/octet-stream). */
export async function upload(
  baseUrl: string,
  credential: string,
  orgId: string,
  bytes: Uint8Array,
  contentType = 'application/octet-stream',
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`${baseUrl}/api/orgs/${orgId}/skills`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': contentType },
    body: bytes,
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: res.status, body, text };
}

/** Every file under `dir` (directories walked, nothing else followed), as relative path -> SHA-256 hex. */
export function fileTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, fileTree(join(dir, e.name), rel));
    else
      out[rel] = createHash('sha256')
        .update(readFileSync(join(dir, e.name)))
        .digest('hex');
  }
  return out;
}
