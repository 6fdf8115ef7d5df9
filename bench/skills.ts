// Skill packages: `rampart pack` (collectFiles, then buildPackage) and verifyPackage throughput in MB/s over a
// generated skill folder, against `sha256sum` over the same files in the same run.
// Run alone: node --import tsx bench/skills.ts [--full]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { collectFiles } from '../packages/cli/src/skills/collect.js';
import {
  buildPackage,
  generateSigningKeyPair,
  keyIdOf,
  type PackageFile,
  parsePrivateKey,
  publicKeyOf,
  readArchive,
  scanFile,
  verifyPackage,
  writeArchive,
} from '../packages/core/src/skillpack/index.js';
import { fmt } from './lib/measure.js';
import { runWhenMain, standaloneCommand } from './lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable, type Table } from './lib/types.js';

const SEED = 20_261_124;
const MB = 1e6;

/** mulberry32: small, fast and the same corpus on every machine. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore ' +
  'magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo ' +
  'consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint ' +
  'occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum'
).split(' ');
const HOSTS = [
  'shop.example.com',
  'portal.example.org',
  'app.example.net',
  'docs.example.com',
  'crm.example.io',
];
const PAGES = ['cart', 'checkout', 'orders', 'account/settings', 'search', 'products', 'invoices', 'reports'];
const SELECTORS = [
  '#checkout > button.primary',
  'input[name="email"]',
  'form.login input[type="submit"]',
  'nav .menu-item:nth-child(3) a',
  'table.orders tbody tr:first-child td.total',
  '[data-testid="search-box"]',
  'div.modal-footer button:not(.secondary)',
  '#filters select[name="status"]',
];
const ACTIONS = ['goto', 'click', 'fill', 'waitFor', 'extract', 'press', 'select', 'screenshot'];
const IDENTS = [
  'order',
  'cart',
  'item',
  'row',
  'price',
  'total',
  'page',
  'result',
  'step',
  'state',
  'node',
  'label',
];

const words = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.pick(WORDS)).join(' ');
const url = (rng: Rng) =>
  `https://${rng.pick(HOSTS)}/${rng.pick(PAGES)}?ref=${rng.int(100_000)}&page=${1 + rng.int(40)}`;
const ident = (rng: Rng) => `${rng.pick(IDENTS)}${rng.pick(IDENTS).replace(/^./, (c) => c.toUpperCase())}`;

/** A browser-automation workflow as JSON: steps with selectors and URLs, no credentials. */
function workflowJson(rng: Rng, steps: number): string {
  return JSON.stringify(
    {
      name: `${rng.pick(PAGES).replace('/', '-')}-flow-${rng.int(1000)}`,
      description: words(rng, 12),
      timeoutMs: 30_000,
      steps: Array.from({ length: steps }, (_, i) => {
        const action = rng.pick(ACTIONS);
        return {
          id: `s${i}`,
          action,
          ...(action === 'goto' ? { url: url(rng) } : { selector: rng.pick(SELECTORS) }),
          ...(action === 'fill' ? { value: `{{input.${ident(rng)}}}` } : {}),
          note: words(rng, 6),
        };
      }),
    },
    null,
    2,
  );
}

function workflowYaml(rng: Rng, steps: number): string {
  const out = [`name: ${ident(rng)}-workflow`, `description: ${words(rng, 10)}`, 'steps:'];
  for (let i = 0; i < steps; i++) {
    out.push(`  - id: step-${i}`, `    action: ${rng.pick(ACTIONS)}`);
    out.push(rng.next() < 0.3 ? `    url: ${url(rng)}` : `    selector: '${rng.pick(SELECTORS)}'`);
    out.push(`    retries: ${rng.int(4)}`, `    # ${words(rng, 8)}`);
  }
  return `${out.join('\n')}\n`;
}

function jsFunction(rng: Rng): string {
  const a = ident(rng);
  const b = ident(rng);
  return [
    `export async function ${a}${rng.int(10_000)}(page, ${b}) {`,
    `  // ${words(rng, 9)}`,
    `  await page.goto(${JSON.stringify(url(rng))});`,
    `  const ${a} = await page.locator(${JSON.stringify(rng.pick(SELECTORS))}).innerText();`,
    `  if (!${a} || ${b}.length > ${rng.int(500)}) return { ok: false, reason: ${JSON.stringify(words(rng, 5))} };`,
    `  for (const ${b}Item of ${b}) await page.click(${JSON.stringify(rng.pick(SELECTORS))});`,
    `  return { ok: true, ${a}, count: ${b}.length * ${rng.int(100)} };`,
    '}',
    '',
  ].join('\n');
}

const jsModule = (rng: Rng, functions: number) =>
  Array.from({ length: functions }, () => jsFunction(rng)).join('\n');

/** A bundler's output: minified-looking module wrappers, one long line each. */
function bundleChunk(rng: Rng): string {
  const id = rng.int(100_000);
  const v = () => String.fromCharCode(97 + rng.int(26)) + String.fromCharCode(97 + rng.int(26));
  return (
    `/* ${id} */ __r(${id},function(e,t,n){"use strict";Object.defineProperty(t,"__esModule",{value:!0});` +
    `var ${v()}=n(${rng.int(5000)}),${v()}=n(${rng.int(5000)});function ${v()}(a,b){return a.${ident(rng)}` +
    `(b,{selector:${JSON.stringify(rng.pick(SELECTORS))},timeout:${rng.int(10_000)}})}` +
    `t.${ident(rng)}=function(a){return fetch(${JSON.stringify(url(rng))}).then(function(r){return r.json()})` +
    `.then(function(j){return j.${ident(rng)}&&j.items.length>${rng.int(100)}?"${words(rng, 4)}":null})}});\n`
  );
}

/** A scraped-catalogue fixture: one JSON object with a large array of records (parsed by the scanner). */
function fixtureRecord(rng: Rng, i: number): string {
  return JSON.stringify({
    id: i,
    sku: `SKU-${rng.int(1e6)}`,
    title: words(rng, 5),
    price: rng.int(100_000) / 100,
    url: url(rng),
    tags: [rng.pick(WORDS), rng.pick(WORDS)],
    inStock: rng.next() < 0.8,
  });
}

function htmlChunk(rng: Rng): string {
  return (
    `<div class="product-card" data-id="${rng.int(1e6)}"><a href="${url(rng)}"><h3>${words(rng, 4)}</h3></a>` +
    `<p class="desc">${words(rng, 24)}</p><span class="price">${rng.int(1000)}.${rng.int(100)}</span></div>\n`
  );
}

/** Random bytes (images, fonts): incompressible, and no text for the scanner's patterns to find. */
function binary(rng: Rng, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4) out.writeUInt32LE(Math.floor(rng.next() * 4294967296), i);
  return out;
}

/** Repeats `chunk()` until `bytes` characters, with `head` and `tail` around it. */
function fill(bytes: number, chunk: () => string, head = '', tail = ''): string {
  const parts = [head];
  let n = head.length + tail.length;
  while (n < bytes) {
    const c = chunk();
    parts.push(c);
    n += c.length;
  }
  parts.push(tail);
  return parts.join('');
}

interface Corpus {
  readonly dir: string;
  readonly paths: string[];
  /** The kind of each file, by path. */
  readonly kindOf: Map<string, string>;
  readonly bytes: number;
  readonly kinds: Map<string, { files: number; bytes: number }>;
}

/** A skill folder: many small workflow files, then large bundles, fixtures, page snapshots and binaries. */
function writeCorpus(dir: string, full: boolean): Corpus {
  const rng = new Rng(SEED);
  const paths: string[] = [];
  const kindOf = new Map<string, string>();
  const kinds = new Map<string, { files: number; bytes: number }>();
  let total = 0;
  const put = (kind: string, path: string, content: string | Buffer) => {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    paths.push(path);
    kindOf.set(path, kind);
    total += bytes.length;
    const k = kinds.get(kind) ?? { files: 0, bytes: 0 };
    kinds.set(kind, { files: k.files + 1, bytes: k.bytes + bytes.length });
  };

  const kind = 'Small workflow files (JSON, YAML, JS, Markdown)';
  put(kind, 'skill.json', JSON.stringify({ name: 'bench-skill', version: 1 }));
  const small = full ? 3200 : 400;
  for (let i = 0; i < small; i++) {
    const folder = `flows/${String(i % 20).padStart(2, '0')}`;
    switch (i % 4) {
      case 0:
        put(kind, `${folder}/flow-${i}.json`, workflowJson(rng, 5 + rng.int(60)));
        break;
      case 1:
        put(kind, `${folder}/flow-${i}.yaml`, workflowYaml(rng, 5 + rng.int(60)));
        break;
      case 2:
        put(kind, `scripts/${String(i % 10)}/helper-${i}.js`, jsModule(rng, 2 + rng.int(30)));
        break;
      default:
        put(kind, `docs/note-${i}.md`, `# ${words(rng, 4)}\n\n${words(rng, 200 + rng.int(2000))}\n`);
    }
  }

  // Large files, cycled until the corpus reaches 64 MB (quick mode) or 512 MB (full mode).
  const large = (full ? 512 : 64) * MB - total;
  const sizes = [10 * MB, 8 * MB, 6 * MB, 3 * MB];
  let used = 0;
  for (let i = 0; used < large; i++) {
    const size = Math.min(sizes[i % sizes.length] as number, large - used);
    used += size;
    switch (i % 4) {
      case 0:
        put(
          'Bundled JavaScript',
          `dist/bundle-${i}.js`,
          fill(size, () => bundleChunk(rng)),
        );
        break;
      case 1: {
        let n = 0;
        const body = fill(
          size,
          () => `${n === 0 ? '' : ','}\n${fixtureRecord(rng, n++)}`,
          '{"products":[',
          '\n]}\n',
        );
        put('JSON fixtures (scraped catalogues)', `fixtures/catalogue-${i}.json`, body);
        break;
      }
      case 2:
        put(
          'HTML page snapshots',
          `fixtures/pages/listing-${i}.html`,
          fill(size, () => htmlChunk(rng), '<!doctype html><html><body>\n', '</body></html>\n'),
        );
        break;
      default:
        put('Binary assets (random bytes)', `assets/blob-${i}.bin`, binary(rng, size));
    }
  }
  return { dir, paths, kindOf, bytes: total, kinds };
}

/** Wall time of `fn` in ms. */
async function timed(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Runs `command args... paths...` in `dir`; resolves with its standard output. */
function hashTool(dir: string, command: string, args: readonly string[], paths: readonly string[]) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, [...args, ...paths], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`${command} exited ${code}: ${Buffer.concat(err).toString('utf8').trim()}`)),
    );
  });
}

const ratio = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;

const PIECES = [
  'sha256sum',
  'openssl',
  'nodeHash',
  'read',
  'scan',
  'collect',
  'build',
  'tarWrite',
  'verify',
  'verifyNoScan',
  'tarRead',
] as const;
type Piece = (typeof PIECES)[number];

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const rounds = opts.full ? 11 : 7;
  const failures: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-skills-'));
  try {
    const generated = performance.now();
    const corpus = writeCorpus(dir, opts.full);
    const generateMs = performance.now() - generated;
    const { privateKeyPem } = generateSigningKeyPair();
    const privateKey = parsePrivateKey(privateKeyPem);
    const publicKey = publicKeyOf(privateKey);
    const keyId = keyIdOf(publicKey);
    const keyFor = (id: string) => (id === keyId ? publicKey : undefined);
    const name = 'bench-skill';
    const mbps = (ms: number) => corpus.bytes / MB / (ms / 1000);
    const sha256sum = () => hashTool(corpus.dir, 'sha256sum', ['--'], corpus.paths);
    const openssl = () => hashTool(corpus.dir, 'openssl', ['dgst', '-sha256'], corpus.paths);

    // Warm-up: fills the page cache and the JIT, and checks the corpus and the package once.
    const hashedByTool = await sha256sum();
    const haveOpenssl = await openssl().then(
      () => true,
      () => false,
    );
    const collected = await collectFiles(corpus.dir);
    if (collected.refusals.length > 0)
      failures.push(
        `the corpus was refused (fix the corpus, not the scanner): ${collected.refusals
          .slice(0, 5)
          .map((r) => `${r.path}: ${r.reason}`)
          .join('; ')}`,
      );
    if (collected.files.length !== corpus.paths.length || collected.bytes !== corpus.bytes)
      failures.push(
        `collectFiles read ${collected.files.length} files / ${collected.bytes} bytes, expected ${corpus.paths.length} / ${corpus.bytes}`,
      );
    const files: PackageFile[] = collected.files;
    const pkg = await buildPackage({ name, version: 1, files }, privateKey);
    const verified = await verifyPackage(pkg.bytes, { keyFor });
    if (verified.files.length !== files.length)
      failures.push('verifyPackage returned a different file count');
    const manifestHashes = new Map(pkg.manifest.files.map((f) => [f.path, f.sha256]));
    const toolLines = hashedByTool.trimEnd().split('\n');
    const disagree = toolLines.filter((line) => manifestHashes.get(line.slice(66)) !== line.slice(0, 64));
    if (toolLines.length !== corpus.paths.length || disagree.length > 0)
      failures.push(
        `sha256sum and the manifest disagree on ${disagree.length} of ${toolLines.length} files (${disagree.slice(0, 3).join('; ')})`,
      );
    const entries = await readArchive(pkg.bytes, files.length + 2);

    const ms = Object.fromEntries(PIECES.map((p) => [p, [] as number[]])) as Record<Piece, number[]>;
    const pack: number[] = [];
    const scanByKind = new Map<string, number[]>([...corpus.kinds.keys()].map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      ms.sha256sum.push(await timed(sha256sum));
      if (haveOpenssl) ms.openssl.push(await timed(openssl));
      ms.nodeHash.push(
        await timed(() => {
          for (const f of files) createHash('sha256').update(f.bytes).digest('hex');
        }),
      );
      ms.read.push(
        await timed(async () => {
          for (const p of corpus.paths) await readFile(join(corpus.dir, p));
        }),
      );
      const byKind = new Map<string, number>();
      ms.scan.push(
        await timed(() => {
          for (const f of files) {
            const t = performance.now();
            scanFile(f.path, f.bytes);
            const kind = corpus.kindOf.get(f.path) ?? '';
            byKind.set(kind, (byKind.get(kind) ?? 0) + performance.now() - t);
          }
        }),
      );
      for (const [kind, t] of byKind) scanByKind.get(kind)?.push(t);
      // `rampart pack` up to writing its output file: collect (walk, read, scan), then build.
      let collectedNow: PackageFile[] = [];
      const c = await timed(async () => {
        collectedNow = (await collectFiles(corpus.dir)).files;
      });
      let packed: Buffer = Buffer.alloc(0);
      const b = await timed(async () => {
        packed = (await buildPackage({ name, version: 1, files: collectedNow }, privateKey)).bytes;
      });
      ms.collect.push(c);
      ms.build.push(b);
      pack.push(c + b);
      if (!packed.equals(pkg.bytes)) failures.push(`round ${r + 1}: pack gave different bytes`);
      ms.tarWrite.push(await timed(() => writeArchive(entries)));
      ms.verify.push(await timed(() => verifyPackage(packed, { keyFor })));
      ms.verifyNoScan.push(await timed(() => verifyPackage(packed, { keyFor, scan: false })));
      ms.tarRead.push(await timed(() => readArchive(packed, files.length + 2)));
    }

    const med = Object.fromEntries(PIECES.map((p) => [p, median(ms[p])])) as Record<Piece, number>;
    const packMs = median(pack);
    const base = mbps(med.sha256sum);
    const tool = `sha256sum: ${fmt.mbps(base)}`;
    // Ratios are the median of per-round ratios: each round times the tool and the piece a moment apart, so a
    // load change on a shared machine moves both.
    const perRound = (piece: readonly number[]) =>
      median(piece.map((m, i) => (ms.sha256sum[i] as number) / m));
    const vs = (piece: readonly number[]) => `${ratio(perRound(piece))} sha256sum`;
    const figures: Figure[] = [
      {
        figure:
          '`rampart pack`: collectFiles (walk, read, scan), then buildPackage (hash, manifest, sign, tar)',
        ours: fmt.mbps(mbps(packMs)),
        peer: tool,
        ratio: vs(pack),
        target: '–',
      },
      {
        figure: 'verifyPackage (tar, signature, per-file SHA-256, canonical re-pack, scan)',
        ours: fmt.mbps(mbps(med.verify)),
        peer: tool,
        ratio: vs(ms.verify),
        target: '–',
      },
      {
        figure: 'verifyPackage with `scan: false`',
        ours: fmt.mbps(mbps(med.verifyNoScan)),
        peer: tool,
        ratio: vs(ms.verifyNoScan),
        target: '–',
      },
      {
        figure: 'Reference: Node `crypto.createHash("sha256")` over the same bytes in memory',
        ours: fmt.mbps(mbps(med.nodeHash)),
        peer: tool,
        ratio: vs(ms.nodeHash),
        target: '–',
      },
    ];

    const row = (label: string, m: number, share: string) => [label, fmt.ms(m), fmt.mbps(mbps(m)), share];
    const ofPack = (m: number) => `${pct(m, packMs)} of pack`;
    const ofVerify = (m: number) => `${pct(m, med.verify)} of verify`;
    const scanDiff = med.verify - med.verifyNoScan;
    const pieces: Table = {
      caption: `Pieces, each timed alone over the whole corpus (median of ${rounds} rounds)`,
      header: ['Piece', 'Time', 'Throughput', 'Share'],
      rows: [
        row('`sha256sum` (one process, files in the page cache)', med.sha256sum, 'baseline'),
        ...(haveOpenssl
          ? [row('Reference: `openssl dgst -sha256` (same files, one process)', med.openssl, '–')]
          : []),
        row('Reference: Node SHA-256 over the bytes in memory', med.nodeHash, '–'),
        row('pack (collectFiles + buildPackage)', packMs, '100% of pack'),
        row('· collectFiles (walk, open, read, scan)', med.collect, ofPack(med.collect)),
        row('· · reading alone (`readFile` of every file)', med.read, ofPack(med.read)),
        row('· · scanFile alone (bytes in memory)', med.scan, ofPack(med.scan)),
        row('· buildPackage (SHA-256, manifest, Ed25519, tar)', med.build, ofPack(med.build)),
        row('· · writeArchive alone (tar-stream pack and concat)', med.tarWrite, ofPack(med.tarWrite)),
        row('verify (verifyPackage)', med.verify, '100% of verify'),
        row('· readArchive alone (tar-stream extract)', med.tarRead, ofVerify(med.tarRead)),
        row('· verifyPackage with `scan: false`', med.verifyNoScan, ofVerify(med.verifyNoScan)),
        row('· the scan (the difference)', scanDiff, ofVerify(scanDiff)),
      ],
    };

    const corpusTable: Table = {
      caption: `The skill folder: ${corpus.paths.length} files, ${fmt.mb(corpus.bytes)} (the package: ${fmt.mb(pkg.bytes.length)})`,
      header: ['Files', 'Count', 'Size', 'scanFile alone'],
      rows: [...corpus.kinds].map(([kind, k]) => [
        kind,
        String(k.files),
        fmt.mb(k.bytes),
        fmt.mbps(k.bytes / MB / (median(scanByKind.get(kind) ?? []) / 1000)),
      ]),
    };

    const nodeVsTool = perRound(ms.nodeHash);
    const intro = [
      `\`npm run bench -- skills\` packs and verifies a generated skill folder (${corpus.paths.length} files, ${fmt.mb(corpus.bytes)}: many small workflow files and a few multi-megabyte bundles, fixtures and binaries) and hashes the same files with \`sha256sum\`.`,
      `Pack runs at ${fmt.mbps(mbps(packMs))} (${vs(pack)}) and verify at ${fmt.mbps(mbps(med.verify))} (${vs(ms.verify)}), and in both the auth-material scan is most of the time (${pct(med.scan, packMs)} of pack, ${pct(scanDiff, med.verify)} of verify): it makes about twenty regular-expression passes over every file's text (one per token format, JWTs, URLs with a password) and parses JSON files up to 32 MB, so it runs at ${fmt.mbps(mbps(med.scan))} where Node hashes at ${fmt.mbps(mbps(med.nodeHash))}.`,
      `Without the scan, verify runs at ${fmt.mbps(mbps(med.verifyNoScan))}: tar extraction, the per-file SHA-256, the canonical re-pack and the SHA-256 of the whole package are each a pass at memory speed, and the Ed25519 signature is over the manifest only, so its cost does not grow with the files' size.`,
      `The baseline is slow for this CPU: this \`sha256sum\` (GNU coreutils) uses its own portable C code, while Node's OpenSSL hashes ${ratio(nodeVsTool)} faster${haveOpenssl ? ` (\`openssl dgst -sha256\`: ${fmt.mbps(mbps(med.openssl))})` : ''}, so a ratio near 1× means as fast as that tool, not as fast as the hardware allows.`,
      'The scan already skips the URL-with-password pattern unless the text holds `://` and `@`, and parses JSON only when its text holds a key the JSON rules read (or a `\\u` escape); what would speed it up further is one pass for all token formats (a combined pattern, or a search for their literal prefixes first) and scanning files on worker threads. Hashing and tar are not the bottleneck.',
    ].join(' ');

    const notes = [
      `MB/s is the folder's file bytes (${fmt.mb(corpus.bytes)}, 10^6 bytes per MB) divided by the median wall time of ${rounds} rounds (ratios: the median of the per-round ratios), after a warm-up round that also fills the page cache; everything runs one after another on one thread (the hashing tools as child processes, timed from spawn to exit).`,
      '`pack` is what `rampart pack` does before writing its output file: the collectFiles walk (readdir, O_NOFOLLOW open, read, scan of each file) and buildPackage with a generated Ed25519 key. Writing the `.skill` file (with fsync) and the SHA-256 of the package that the CLI prints are not included. Every round checks that pack gives the same bytes; the warm-up checks that `sha256sum` and the manifest agree on every file and that the scanner refuses nothing.',
      "`verify` is what the server runs on an upload and `rampart runtime sync` on a download: tar extraction, the manifest signature, every file's size and SHA-256, the re-pack compared byte for byte, and the auth-material scan.",
      `The folder is generated (seed ${SEED}) in a temporary directory and removed afterwards (${(generateMs / 1000).toFixed(1)} s to generate). Quick mode: 64 MB, 7 rounds; \`--full\`: 512 MB, 11 rounds.`,
    ];

    return {
      id: 'skills',
      title: 'Skill packages',
      headline: figures.slice(0, 2).map((f, i) => ({
        ...f,
        figure:
          i === 0
            ? 'Skill pack (walk, scan, hash, sign, tar) MB/s'
            : 'Skill verify (signature, hashes, re-pack, scan) MB/s',
      })),
      command: standaloneCommand('bench/skills.ts', opts),
      intro,
      tables: [
        figureTable('Pack and verify throughput against sha256sum over the same files', figures),
        pieces,
        corpusTable,
      ],
      notes,
      failures,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, run);
