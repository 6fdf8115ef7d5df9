import type { SkillVersion, TelemetryListed } from '@rampart/server/api-types';

/** The shapes the skills API returns (the server's own types), and the formats the skills pages share. */

export type { SigningKey } from '@rampart/server/api-types';
export type Version = SkillVersion;
export type Signature = Version['signature'];
/** A package in GET /skills: its newest version and how many there are. */
export interface Skill {
  name: string;
  versions: number;
  latest: Version;
}
export type TelemetryEvent = TelemetryListed;

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
