// What the detector gets wrong on the outside corpus, grouped for whoever works on detection:
//   node --import tsx packages/core/src/redact/corpus/outside/misses.ts [kind] [groups]
// prints the labelled spans of `kind` (default phone) not found exactly, by locale and generated form with
// examples, then every false positive. libphonenumber-js examples are grouped under `libphonenumber`.
import { detect } from '../../detect.js';
import { PII_KINDS, type PiiKind } from '../../kinds.js';
import { generateOutsideCorpus } from './generate.js';
import { falsePositives, misses } from './score.js';

const kind = (process.argv[2] ?? 'phone') as PiiKind;
if (!PII_KINDS.includes(kind)) throw new Error(`kind must be one of ${PII_KINDS.join(', ')}`);
const limit = Number(process.argv[3] ?? 40);
// The generator's output, which outside.test.ts keeps equal to the committed files (core does no file I/O).
const corpus = generateOutsideCorpus();
const cases = [...corpus.faker, ...corpus.libphonenumber];
const run = (t: string) => detect(t);

const missed = misses(cases, run, kind);
const labelled = cases.flatMap((c) => c.spans).filter((s) => s.kind === kind).length;
console.log(`${kind}: ${missed.length} of ${labelled} labelled spans not found exactly`);
const groups = new Map<string, string[]>();
for (const m of missed) {
  const source = /^[A-Z]{2}$/.test(m.locale) ? 'libphonenumber' : m.locale;
  const key = `${source} ${m.category}`;
  const list = groups.get(key) ?? [];
  list.push(source === 'libphonenumber' ? `${m.locale} ${m.value}` : m.value);
  groups.set(key, list);
}
for (const [key, values] of [...groups].sort((a, b) => b[1].length - a[1].length).slice(0, limit))
  console.log(`${String(values.length).padStart(4)}  ${key}: ${values.slice(0, 4).join(' | ')}`);

const wrong = falsePositives(cases, run);
console.log(`\nfalse positives: ${wrong.length}`);
for (const w of wrong)
  console.log(`  ${w.id} ${w.category} → ${w.kind} ${JSON.stringify(w.value)} in ${JSON.stringify(w.text)}`);
