// Envelope encryption: Rampart's seal/openString (AES-256-GCM envelope with a key ring and context-bound AAD)
// against the same cipher called raw through node:crypto, with the same key, AAD and plaintext.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  encodeAad,
  KeyRing,
  open,
  openString,
  parseEnvelope,
  type SealContext,
  SealError,
  seal,
} from '../../packages/core/src/seal/index.js';
import type { Figure } from '../lib/types.js';
import { fmtCore, interleavedRates, rateOf, type Subject } from './rates.js';
import type { Plan } from './setup.js';

const TAG_BYTES = 16;
const IV_BYTES = 12;

/** Where the value is sealed: an org secret's value column, as `org_secrets` stores them. */
const CONTEXT: SealContext = {
  orgId: '0190f5e2-7c3a-7b8e-9d41-2a6c5e8f1b37',
  table: 'org_secrets',
  column: 'value',
  rowId: '0190f5e2-8e14-7f02-a3b5-6c7d8e9f0a1b',
};

/** ASCII text of exactly `bytes` bytes (so its UTF-8 size is `bytes`), deterministic. */
function payload(bytes: number, seed: string): string {
  let s = seed;
  while (s.length < bytes) s += ` ${s.length.toString(36)}:${seed}`;
  return s.slice(0, bytes);
}

const SIZES = [
  // An upstream provider API key, the commonest sealed value.
  {
    label: '64 B (API-key-sized secret)',
    text: payload(64, 'sk-proj-4fJq9XbW2mLr7TzK1nVc8yHd3sPa6uQe0iGo5xZt'),
  },
  // A service-account JSON or a block of connection settings.
  { label: '4 KB', text: payload(4096, '{"type":"service_account","project_id":"northwind-prod"}') },
] as const;

interface RawSealed {
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function rawSeal(key: Buffer, aad: Buffer, text: string): RawSealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function rawOpen(key: Buffer, aad: Buffer, s: RawSealed): string {
  const decipher = createDecipheriv('aes-256-gcm', key, s.iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(s.tag);
  decipher.setAAD(aad);
  return Buffer.concat([decipher.update(s.ciphertext), decipher.final()]).toString('utf8');
}

export interface SealResult {
  readonly figures: Figure[];
  readonly notes: string[];
}

/** The checks run before timing: round trips, interoperability with raw AES-GCM, and refusals. */
function check(ring: KeyRing, key: Buffer, aad: Buffer, text: string, label: string, failures: string[]) {
  const envelope = seal(ring, text, CONTEXT);
  if (openString(ring, envelope, CONTEXT) !== text) failures.push(`seal ${label}: open(seal(x)) !== x`);
  if (rawOpen(key, aad, rawSeal(key, aad, text)) !== text)
    failures.push(`seal ${label}: the raw node:crypto round trip failed`);
  // The envelope is plain AES-256-GCM under the ring key with the encoded context as AAD: raw GCM opens it.
  const { iv, body } = parseEnvelope(envelope);
  const split = body.length - TAG_BYTES;
  const viaRaw = rawOpen(key, aad, { iv, ciphertext: body.subarray(0, split), tag: body.subarray(split) });
  if (viaRaw !== text) failures.push(`seal ${label}: raw AES-256-GCM does not open Rampart's envelope`);
  if (seal(ring, text, CONTEXT) === envelope)
    failures.push(`seal ${label}: two seals gave the same envelope`);
  const refused = (what: string, fn: () => unknown) => {
    try {
      fn();
      failures.push(`seal ${label}: ${what} was opened`);
    } catch (err) {
      if (!(err instanceof SealError && err.code === 'open_failed'))
        failures.push(`seal ${label}: ${what} failed with ${String(err)} instead of open_failed`);
    }
  };
  refused('a value moved to another row', () => open(ring, envelope, { ...CONTEXT, rowId: 'another-row' }));
  const at = envelope.length - 2;
  const flipped = `${envelope.slice(0, at)}${envelope[at] === 'A' ? 'B' : 'A'}${envelope.slice(at + 1)}`;
  refused('a tampered envelope', () => open(ring, flipped, CONTEXT));
}

export async function measureSeal(plan: Plan, failures: string[]): Promise<SealResult> {
  const key = randomBytes(32);
  const ring = KeyRing.fromKeys([{ id: 'bench1', key }]);
  // The raw side gets the AAD Rampart would bind, computed once (a raw caller has no envelope header to encode).
  const aad = encodeAad('v1', ring.primaryId, CONTEXT);
  // Half the database figures' time per subject: four subjects per size, and no I/O to average out.
  const rounds = plan.rounds;
  const timing = { iterations: 30, timeMs: plan.timeMs / 2, warmupIterations: 20 };
  const figures: Figure[] = [];
  for (const { label, text } of SIZES) {
    check(ring, key, aad, text, label, failures);
    // Batches long enough that the timer's own cost is noise (a 64 B seal takes a few µs).
    const batch = text.length <= 64 ? 200 : 50;
    const envelope = seal(ring, text, CONTEXT);
    const raw = rawSeal(key, aad, text);
    let sink = 0;
    const subjects: Subject[] = [
      {
        name: 'seal',
        ops: batch,
        fn: () => {
          for (let i = 0; i < batch; i++) sink += seal(ring, text, CONTEXT).length;
        },
      },
      {
        name: 'raw seal',
        ops: batch,
        fn: () => {
          for (let i = 0; i < batch; i++) sink += rawSeal(key, aad, text).ciphertext.length;
        },
      },
      {
        name: 'open',
        ops: batch,
        fn: () => {
          for (let i = 0; i < batch; i++) sink += openString(ring, envelope, CONTEXT).length;
        },
      },
      {
        name: 'raw open',
        ops: batch,
        fn: () => {
          for (let i = 0; i < batch; i++) sink += rawOpen(key, aad, raw).length;
        },
      },
    ];
    const rates = await interleavedRates(subjects, rounds, timing);
    if (sink === 0) failures.push(`seal ${label}: the timed calls produced nothing`);
    for (const op of ['seal', 'open'] as const) {
      const ours = rateOf(rates, op);
      const peer = rateOf(rates, `raw ${op}`);
      figures.push({
        figure: `\`${op === 'seal' ? 'seal' : 'openString'}\`, ${label}`,
        ours: fmtCore.perSecond(ours),
        peer: `raw \`${op === 'seal' ? 'createCipheriv' : 'createDecipheriv'}('aes-256-gcm')\`: ${fmtCore.perSecond(peer)}`,
        ratio: fmtCore.ratio(ours / peer),
        target: '–',
      });
    }
  }
  return {
    figures,
    notes: [
      '`seal` does, per value: the AAD encoding (`JSON.stringify` of the domain, version, key id and the four ' +
        'context fields), a lone-surrogate check and a UTF-8 copy of the string (wiped afterwards), a fresh ' +
        '12-byte IV from `randomBytes`, AES-256-GCM with a 16-byte tag, and the base64url envelope ' +
        '`v1.<keyId>.<iv>.<ciphertext+tag>`. `openString` parses and strictly decodes the envelope, re-encodes ' +
        'the AAD, decrypts, and decodes and wipes the plaintext. The raw peer draws the same fresh IV and binds ' +
        'the same AAD bytes (computed once), and returns Buffers: the ratio is the cost of the envelope around ' +
        'the cipher.',
      'Checked before timing, for both sizes: `openString(seal(x)) === x`, two seals of one value differ, raw ' +
        "AES-256-GCM with the ring key and the encoded context opens Rampart's envelope, and a value moved to " +
        'another row or with one character changed fails with `open_failed`.',
    ],
  };
}
