/** The shapes the skills API returns, and the size and duration formats the skills pages share. */

export type Signature = 'valid' | 'key_revoked';
export interface Version {
  version: number;
  sha256: string;
  sizeBytes: number;
  fileCount: number;
  keyId: string;
  signature: Signature;
  createdAt: string;
}
export interface Skill {
  name: string;
  versions: number;
  latest: Version;
}
export interface SigningKey {
  id: string;
  name: string;
  keyId: string;
  publicKey: string;
  createdAt: string;
  revokedAt: string | null;
}
export type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
export interface TelemetryEvent {
  id: string;
  receivedAt: string;
  occurredAt: string;
  skill: string;
  version: number;
  stepsTotal: number;
  stepsOk: number;
  stepsFailed: number;
  durationMs: number;
  outcome: Outcome;
  errorCode: string | null;
  runtimeVersion: string;
  runtimeTokenId: string;
}

/** 1536 -> "1.5 KiB" (binary units, as package limits are stated). */
export const size = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;

export const duration = (ms: number) =>
  ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;

export function SignatureBadge({ signature }: { signature: Signature }) {
  return (
    <span className={`status status-${signature}`}>
      {signature === 'valid' ? 'valid signature' : 'signing key revoked'}
    </span>
  );
}
