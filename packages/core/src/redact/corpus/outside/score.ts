// Per-locale scoring of the outside corpus, with the labelled corpus's definition (../score.ts): span-exact
// (a detected span counts only with the same kind, start and end as a label; a wrong boundary is one false
// positive and one false negative), micro-averaged. Shared by outside.test.ts and bench/redact.ts.
import type { PiiKind, PiiSpan } from '../../kinds.js';
import { type CorpusScore, parseCorpus, scoreCorpus } from '../score.js';
import type { OutsideCase } from './generate.js';

export function parseOutside(jsonl: string): OutsideCase[] {
  return parseCorpus(jsonl) as OutsideCase[];
}

export interface LocaleScore {
  /** A Faker locale, or `libphonenumber` for all regions' example numbers together. */
  readonly locale: string;
  readonly cases: number;
  readonly score: CorpusScore;
}

/** Scores per Faker locale (in corpus order), then the libphonenumber-js examples, then everything. */
export function scoreByLocale(
  cases: readonly OutsideCase[],
  detect: (text: string) => readonly PiiSpan[],
): { byLocale: LocaleScore[]; all: LocaleScore } {
  const groups = new Map<string, OutsideCase[]>();
  for (const c of cases) {
    const key = c.source === 'faker' ? c.locale : 'libphonenumber';
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  const byLocale = [...groups].map(([locale, list]) => ({
    locale,
    cases: list.length,
    score: scoreCorpus(list, detect),
  }));
  return { byLocale, all: { locale: 'all', cases: cases.length, score: scoreCorpus(cases, detect) } };
}

export interface Miss {
  readonly id: string;
  readonly locale: string;
  readonly category: string;
  readonly value: string;
  readonly text: string;
}

/** Labelled spans of `kind` that detection did not report exactly. */
export function misses(
  cases: readonly OutsideCase[],
  detect: (text: string) => readonly PiiSpan[],
  kind: PiiKind,
): Miss[] {
  const out: Miss[] = [];
  for (const c of cases) {
    const found = detect(c.text);
    for (const s of c.spans) {
      if (s.kind !== kind) continue;
      if (found.some((d) => d.kind === s.kind && d.start === s.start && d.end === s.end)) continue;
      out.push({
        id: c.id,
        locale: c.locale,
        category: c.category,
        value: c.text.slice(s.start, s.end),
        text: c.text,
      });
    }
  }
  return out;
}

/** Detected spans that match no label exactly (wrong kind, wrong boundaries, or not personal data). */
export function falsePositives(
  cases: readonly OutsideCase[],
  detect: (text: string) => readonly PiiSpan[],
): Array<Miss & { kind: PiiKind }> {
  const out: Array<Miss & { kind: PiiKind }> = [];
  for (const c of cases) {
    for (const d of detect(c.text)) {
      if (c.spans.some((s) => d.kind === s.kind && d.start === s.start && d.end === s.end)) continue;
      out.push({
        id: c.id,
        locale: c.locale,
        category: c.category,
        kind: d.kind,
        value: c.text.slice(d.start, d.end),
        text: c.text,
      });
    }
  }
  return out;
}
