/**
 * Runs one extraction (extract.ts) off the server's event loop: PDF parsing and Readability are CPU-bound and, on
 * hostile input (deeply nested HTML, PDF pages sharing one huge compressed stream), super-linear. The parent
 * (extract-run.ts) gives this thread a deadline and a heap cap and terminates it when either is exceeded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../platform/errors.js';
import { extractHtml, extractPdf } from './extract.js';

export type ExtractJob =
  | { kind: 'pdf'; bytes: Uint8Array; maxTextBytes: number }
  | { kind: 'html'; text: string; maxTextBytes: number };

export type ExtractReply =
  | { ok: true; text: string; title: string | null }
  | { ok: false; code: string; message: string };

async function run(job: ExtractJob): Promise<ExtractReply> {
  try {
    const x =
      job.kind === 'pdf'
        ? await extractPdf(job.bytes, job.maxTextBytes)
        : extractHtml(job.text, job.maxTextBytes);
    return { ok: true, text: x.text, title: x.title };
  } catch (err) {
    // Only an AppError's code and message cross back: they are written for clients. Anything else is generic.
    if (err instanceof AppError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'invalid_document', message: 'The document could not be read' };
  }
}

void run(workerData as ExtractJob).then((reply) => parentPort?.postMessage(reply));
