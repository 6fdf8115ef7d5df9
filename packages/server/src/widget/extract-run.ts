import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../platform/errors.js';
import type { ExtractJob, ExtractReply } from './extract-worker.js';

/** An extraction that runs longer is stopped and the upload refused: no legitimate page or PDF needs it. */
export const EXTRACT_TIMEOUT_MS = 20_000;
/** The extraction thread's heap: a PDF whose streams inflate past it is refused, not the server's memory. */
const EXTRACT_HEAP_MB = 512;
/** Extractions running at once on this node; more wait their turn (each holds one core while it runs). */
const EXTRACT_CONCURRENCY = 2;

let running = 0;
const waiting: Array<() => void> = [];

async function slot(): Promise<() => void> {
  if (running >= EXTRACT_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/**
 * The compiled worker: next to this module in a build, or, when the server runs from its TypeScript sources (the
 * test suite, after `npm test`'s build step), the package's dist/ build of the same file. Node 20 cannot load a
 * TypeScript worker through a loader registered with --import.
 */
function workerEntry(): URL {
  for (const rel of ['./extract-worker.js', '../../dist/widget/extract-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error('extract-worker.js is not built: run `npm run build`');
}

/**
 * Runs one extraction in a worker thread with a deadline and a heap cap, so a hostile document costs one core for
 * at most `timeoutMs` and never blocks the server's event loop.
 * @throws AppError the extraction's own refusal (invalid_document, pdf_encrypted, pdf_no_text, payload_too_large),
 *   or invalid_document when it runs out of time or memory
 */
export async function extractInWorker(
  job: ExtractJob,
  timeoutMs = EXTRACT_TIMEOUT_MS,
): Promise<{ text: string; title: string | null }> {
  const release = await slot();
  try {
    const worker = new Worker(workerEntry(), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: EXTRACT_HEAP_MB },
      // pdf.js may print warnings: kept out of the server's structured log.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    const reply = await new Promise<ExtractReply | 'timeout' | 'crashed'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      worker.once('message', (m: ExtractReply) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', () => {
        clearTimeout(timer);
        resolve('crashed');
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve('crashed');
      });
    });
    await worker.terminate();
    if (reply === 'timeout')
      throw new AppError(
        'invalid_document',
        `The document took over ${Math.round(timeoutMs / 1000)} s to read and was refused; simplify or split it`,
      );
    if (reply === 'crashed')
      throw new AppError('invalid_document', 'The document needs too much memory to read and was refused');
    if (!reply.ok) throw new AppError(reply.code as ErrorCode, reply.message);
    return { text: reply.text, title: reply.title };
  } finally {
    release();
  }
}
