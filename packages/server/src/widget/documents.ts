import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { ChunkFormat } from './extract.js';
import { extractInWorker } from './extract-run.js';
import { releaseKnowledge, reserveKnowledge } from './quota.js';

/** A document's original format: text and markdown are stored as sent; HTML and PDF are extracted first. */
export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf';

export interface DocumentInput {
  name: string;
  format: DocumentFormat;
  /** The text that is chunked and counted: as sent for text and markdown, the extracted text for HTML and PDF. */
  content: string;
  /** The page it was fetched from (URL ingests). */
  sourceUrl?: string | null;
}

export interface DocumentView {
  id: string;
  name: string;
  format: DocumentFormat;
  bytes: number;
  chunks: number;
  sourceUrl: string | null;
  createdAt: string;
}

/** What the chunker splits each format's stored text as (web pages are extracted to markdown). */
export const chunkFormatOf = (format: DocumentFormat): ChunkFormat =>
  format === 'markdown' || format === 'html' ? 'markdown' : 'text';

/** An upload before extraction: text for text, markdown and HTML; bytes for PDF (and for fetched pages). */
export type DocumentSource =
  | { format: 'text' | 'markdown'; text: string }
  | { format: 'html'; text: string }
  | { format: 'pdf'; bytes: Uint8Array };

/**
 * Turns an upload into the text to store (extract.ts), before any transaction: PDF text layers and web page
 * articles. `maxTextBytes` caps the extracted text as RAMPART_WIDGET_DOCUMENT_MAX_BYTES caps a text upload.
 * @throws AppError from extractPdf / extractHtml (invalid_document, pdf_encrypted, pdf_no_text, payload_too_large),
 *   or invalid_document when the extraction runs out of time or memory
 */
export async function extractDocument(
  source: DocumentSource,
  maxTextBytes: number,
  timeoutMs?: number,
): Promise<{ content: string; title: string | null }> {
  // Off the event loop, with a deadline and a heap cap (extract-run.ts): hostile PDFs and pages are CPU bombs.
  if (source.format === 'pdf') {
    const x = await extractInWorker({ kind: 'pdf', bytes: source.bytes, maxTextBytes }, timeoutMs);
    return { content: x.text, title: x.title };
  }
  if (source.format === 'html') {
    const x = await extractInWorker({ kind: 'html', text: source.text, maxTextBytes }, timeoutMs);
    return { content: x.text, title: x.title };
  }
  return { content: source.text, title: null };
}

const CHUNK_CHARS = 1_200;

/**
 * Splits a document into retrieval chunks of at most ~1,200 characters on paragraph boundaries (markdown
 * headings start a new chunk), hard-splitting paragraphs longer than that on whitespace.
 */
export function chunkText(text: string, format: 'text' | 'markdown'): string[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(format === 'markdown' ? /\n\s*\n|\n(?=#{1,6}\s)/ : /\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
  const chunks: string[] = [];
  let current = '';
  const flush = () => {
    if (current) chunks.push(current);
    current = '';
  };
  for (const p of paragraphs) {
    if (format === 'markdown' && /^#{1,6}\s/.test(p)) flush();
    if (p.length > CHUNK_CHARS) {
      flush();
      let rest = p;
      while (rest.length > CHUNK_CHARS) {
        const cut = rest.lastIndexOf(' ', CHUNK_CHARS);
        const at = cut > CHUNK_CHARS / 2 ? cut : CHUNK_CHARS;
        chunks.push(rest.slice(0, at).trim());
        rest = rest.slice(at).trim();
      }
      current = rest;
      continue;
    }
    if (current.length + p.length + 2 > CHUNK_CHARS) flush();
    current = current ? `${current}\n\n${p}` : p;
  }
  flush();
  return chunks;
}

/** Test hook: called before each chunk insert (fault injection for the all-or-nothing test). */
export type ChunkHook = (seq: number) => void | Promise<void>;

/**
 * Stores a document: reserves its bytes against the plan, inserts the document and every chunk, and audits,
 * all in the caller's transaction, so a failure anywhere leaves neither chunks nor a reservation behind.
 * @throws AppError not_found (widget) | validation_failed (empty) | quota_exceeded
 */
export async function ingestDocument(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  widgetId: string,
  input: DocumentInput,
  beforeChunk?: ChunkHook,
): Promise<DocumentView> {
  const w = await q.query('SELECT 1 FROM widgets WHERE org_id = $1 AND id = $2 FOR SHARE', [orgId, widgetId]);
  if (w.rowCount === 0) throw new AppError('not_found', 'Widget not found');
  const chunks = chunkText(input.content, chunkFormatOf(input.format));
  if (chunks.length === 0) throw new AppError('validation_failed', 'content is empty');
  // The bytes counted against the plan are those of the stored text (the extracted text for HTML and PDF).
  const bytes = Buffer.byteLength(input.content, 'utf8');
  await reserveKnowledge(q, orgId, bytes);
  const id = newId();
  const sourceUrl = input.sourceUrl ?? null;
  const { rows } = await q.query<{ created_at: Date }>(
    `INSERT INTO widget_documents (id, org_id, widget_id, name, format, bytes, chunks, source_url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
    [id, orgId, widgetId, input.name, input.format, bytes, chunks.length, sourceUrl],
  );
  for (const [seq, content] of chunks.entries()) {
    await beforeChunk?.(seq);
    await q.query(
      'INSERT INTO widget_chunks (id, org_id, widget_id, document_id, seq, content) VALUES ($1, $2, $3, $4, $5, $6)',
      [newId(), orgId, widgetId, id, seq, content],
    );
  }
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.document_added',
    target: `widget:${widgetId}`,
    meta: { documentId: id, name: input.name, format: input.format, bytes, chunks: chunks.length },
  });
  return {
    id,
    name: input.name,
    format: input.format,
    bytes,
    chunks: chunks.length,
    sourceUrl,
    createdAt: (rows[0]?.created_at ?? new Date()).toISOString(),
  };
}

export async function listDocuments(q: Queryable, orgId: string, widgetId: string): Promise<DocumentView[]> {
  const w = await q.query('SELECT 1 FROM widgets WHERE org_id = $1 AND id = $2', [orgId, widgetId]);
  if (w.rowCount === 0) throw new AppError('not_found', 'Widget not found');
  const { rows } = await q.query<{
    id: string;
    name: string;
    format: DocumentFormat;
    bytes: number;
    chunks: number;
    source_url: string | null;
    created_at: Date;
  }>(
    'SELECT id, name, format, bytes, chunks, source_url, created_at FROM widget_documents WHERE org_id = $1 AND widget_id = $2 ORDER BY created_at, id',
    [orgId, widgetId],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    format: r.format,
    bytes: r.bytes,
    chunks: r.chunks,
    sourceUrl: r.source_url,
    createdAt: r.created_at.toISOString(),
  }));
}

/** Deletes a document and its chunks and releases its bytes, in one transaction. */
export async function deleteDocument(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  widgetId: string,
  documentId: string,
): Promise<void> {
  const { rows } = await q.query<{ bytes: number; name: string }>(
    'DELETE FROM widget_documents WHERE org_id = $1 AND widget_id = $2 AND id = $3 RETURNING bytes, name',
    [orgId, widgetId, documentId],
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Document not found');
  await releaseKnowledge(q, orgId, r.bytes);
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.document_deleted',
    target: `widget:${widgetId}`,
    meta: { documentId, name: r.name, bytes: r.bytes },
  });
}
