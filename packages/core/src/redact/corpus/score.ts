// Scoring of the detector against the labelled corpus; shared by corpus.test.ts and bench/redact.ts so the
// numbers in docs/PERFORMANCE.md are the ones the test asserts on.
import { PII_KINDS, type PiiKind, type PiiSpan, REPLACEMENTS } from '../kinds.js';

/** One labelled case: `spans` are the expected items, `redacted` the expected output of `redact(text)`. */
export interface CorpusCase {
  readonly id: string;
  readonly category: string;
  readonly text: string;
  readonly spans: readonly PiiSpan[];
  readonly redacted: string;
}

export interface KindScore {
  readonly kind: PiiKind | 'all';
  /** Expected spans found exactly (same kind, start and end). */
  readonly truePositives: number;
  /** Spans reported that are not expected (a wrong kind or wrong boundaries count here and below). */
  readonly falsePositives: number;
  /** Expected spans not reported exactly. */
  readonly falseNegatives: number;
  readonly precision: number;
  readonly recall: number;
}

export interface CorpusScore {
  readonly byKind: readonly KindScore[];
  readonly overall: KindScore;
  /** Ids of the cases where detection differed from the labels. */
  readonly mismatches: readonly string[];
}

/** Parses a JSONL corpus file. */
export function parseCorpus(jsonl: string): CorpusCase[] {
  return jsonl
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusCase);
}

const key = (s: PiiSpan) => `${s.kind}:${s.start}:${s.end}`;

function ratio(good: number, total: number): number {
  return total === 0 ? 1 : good / total;
}

function kindScore(kind: PiiKind | 'all', tp: number, fp: number, fn: number): KindScore {
  return {
    kind,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
  };
}

/** Span-exact precision and recall of `detect` over `cases`, per kind and overall (micro-averaged). */
export function scoreCorpus(
  cases: readonly CorpusCase[],
  detect: (text: string) => readonly PiiSpan[],
): CorpusScore {
  const counts = new Map<PiiKind, { tp: number; fp: number; fn: number }>(
    PII_KINDS.map((k) => [k, { tp: 0, fp: 0, fn: 0 }]),
  );
  const mismatches: string[] = [];
  for (const c of cases) {
    const expected = new Set(c.spans.map(key));
    const actual = detect(c.text);
    const actualKeys = new Set(actual.map(key));
    let mismatch = false;
    for (const span of actual) {
      const n = counts.get(span.kind);
      if (n === undefined) continue;
      if (expected.has(key(span))) n.tp++;
      else {
        n.fp++;
        mismatch = true;
      }
    }
    for (const span of c.spans) {
      const n = counts.get(span.kind);
      if (n !== undefined && !actualKeys.has(key(span))) {
        n.fn++;
        mismatch = true;
      }
    }
    if (mismatch) mismatches.push(c.id);
  }
  const byKind = PII_KINDS.map((k) => {
    const n = counts.get(k) ?? { tp: 0, fp: 0, fn: 0 };
    return kindScore(k, n.tp, n.fp, n.fn);
  });
  const sum = (f: (s: KindScore) => number) => byKind.reduce((acc, s) => acc + f(s), 0);
  const overall = kindScore(
    'all',
    sum((s) => s.truePositives),
    sum((s) => s.falsePositives),
    sum((s) => s.falseNegatives),
  );
  return { byKind, overall, mismatches };
}

/** A labelled text with its spans replaced by their placeholders: what `redact()` must return for it. */
export function withPlaceholders(c: { readonly text: string; readonly spans: readonly PiiSpan[] }): string {
  let out = '';
  let from = 0;
  for (const sp of c.spans) {
    out += c.text.slice(from, sp.start) + REPLACEMENTS[sp.kind];
    from = sp.end;
  }
  return out + c.text.slice(from);
}
