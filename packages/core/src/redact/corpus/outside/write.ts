// Writes the outside corpus files from the seeded generator: `npm run corpus:outside`.
// outside.test.ts fails when the committed files differ from what generate.ts produces.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateOutsideCorpus, toJsonl } from './generate.js';

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const corpus = generateOutsideCorpus();
writeFileSync(file('faker.jsonl'), toJsonl(corpus.faker));
writeFileSync(file('libphonenumber.jsonl'), toJsonl(corpus.libphonenumber));
console.log(
  `faker.jsonl: ${corpus.faker.length} cases; libphonenumber.jsonl: ${corpus.libphonenumber.length} cases`,
);
