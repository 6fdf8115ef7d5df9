// `npm run bench [-- --full] [section ...]`: runs every bench module and rewrites docs/PERFORMANCE.md.
//
// A bench module is `bench/<name>.ts` or `bench/<name>/index.ts` exporting `run(opts): Promise<BenchSection>`
// (see lib/types.ts); dropping one in is all it takes to register it. Naming sections runs only those and
// keeps the others' last published numbers.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './lib/machine.js';
import { existingSections, renderDocument, renderSection, renderTable } from './lib/markdown.js';
import type { BenchRun, BenchSection } from './lib/types.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const docPath = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));

/** Bench modules by section id, in name order. */
function discover(): Map<string, string> {
  const modules = new Map<string, string>();
  for (const entry of readdirSync(benchDir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.isFile() && entry.name.endsWith('.ts') && entry.name !== 'run.ts') {
      modules.set(basename(entry.name, '.ts'), join(benchDir, entry.name));
    } else if (
      entry.isDirectory() &&
      entry.name !== 'lib' &&
      existsSync(join(benchDir, entry.name, 'index.ts'))
    ) {
      modules.set(entry.name, join(benchDir, entry.name, 'index.ts'));
    }
  }
  return modules;
}

async function load(file: string): Promise<BenchRun> {
  const mod: { run?: unknown } = await import(pathToFileURL(file).href);
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run(opts)`);
  return mod.run as BenchRun;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const full = args.includes('--full');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const modules = discover();
  for (const name of wanted) {
    if (!modules.has(name))
      throw new Error(`unknown bench section ${name}; known: ${[...modules.keys()].join(', ')}`);
  }
  const selected = [...modules].filter(([name]) => wanted.length === 0 || wanted.includes(name));
  const m = machine();
  const mode = full ? 'full' : 'quick';
  console.log(
    `bench: ${selected.map(([name]) => name).join(', ')} (${mode} mode) on ${m.cpu}, ${m.cores} cores, Node ${m.node}`,
  );

  const results: BenchSection[] = [];
  const crashed: string[] = [];
  const previous = existsSync(docPath)
    ? existingSections(readFileSync(docPath, 'utf8'))
    : new Map<string, string>();
  // The document is rewritten after every section, so a long --full run that dies late keeps what it measured.
  const write = () => {
    const sections = new Map<string, string>();
    for (const name of modules.keys()) {
      const fresh = results.find((s) => s.id === name);
      const kept = previous.get(name);
      if (fresh !== undefined) sections.set(name, renderSection(fresh, m, mode));
      else if (kept !== undefined) sections.set(name, kept);
    }
    writeFileSync(docPath, renderDocument(m, sections));
  };
  for (const [name, file] of selected) {
    const started = performance.now();
    let section: BenchSection;
    try {
      section = await (await load(file))({ full });
    } catch (err) {
      // One section's crash (a lost connection on a shared machine) must not throw away the others' results.
      console.error(
        `\n## ${name}: crashed, its previous section is kept\n${(err as Error).stack ?? String(err)}`,
      );
      crashed.push(`${name}: crashed (${String(err).slice(0, 200)})`);
      continue;
    }
    if (section.id !== name) throw new Error(`${file} returned section id ${section.id}, expected ${name}`);
    results.push(section);
    console.log(`\n## ${section.title} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    for (const table of section.tables) console.log(`\n${table.caption ?? ''}\n${renderTable(table)}`);
    write();
  }
  write();
  console.log(`\nwrote ${docPath}`);

  const failures = [...crashed, ...results.flatMap((s) => s.failures.map((f) => `${s.id}: ${f}`))];
  for (const failure of failures) console.error(`FAIL ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
