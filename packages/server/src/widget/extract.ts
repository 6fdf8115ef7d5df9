import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { getDocumentProxy } from 'unpdf';
import { AppError } from '../platform/errors.js';

/**
 * Text extraction for widget documents: bytes in, text out, in the form the chunker splits (plain text for PDFs,
 * markdown for web pages, so headings start chunks). No I/O and no database: the routes call these before
 * `ingestDocument`, outside any transaction. Every refusal is an AppError with a documented code.
 */

/** What a document's text is chunked as. */
export type ChunkFormat = 'text' | 'markdown';

export interface Extracted {
  text: string;
  chunkFormat: ChunkFormat;
  /** The page's <title> (HTML) or the document title (PDF), when there is one: a default name. */
  title: string | null;
  /** PDF only: how many pages were read. */
  pages?: number;
}

/** A PDF with more pages is refused (payload_too_large) before any page is read. */
export const MAX_PDF_PAGES = 1_000;

const PDF_MAGIC = '%PDF-';

/** Control characters PostgreSQL text or the chunker cannot hold (NUL first of all), tabs and newlines kept. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

const tooMuchText = (maxTextBytes: number) =>
  new AppError('payload_too_large', `The extracted text is over ${maxTextBytes} bytes; split the document`);

/**
 * The text layer of a PDF, page by page (stopping as soon as the text passes `maxTextBytes`). Lines keep their
 * breaks; a vertical gap larger than a line and a half, and every page end, starts a new paragraph.
 * @throws AppError invalid_document (not a PDF, or damaged) | pdf_encrypted (needs a password) | pdf_no_text
 *   (no text layer: scanned or image-only) | payload_too_large (over MAX_PDF_PAGES pages or maxTextBytes)
 */
export async function extractPdf(bytes: Uint8Array, maxTextBytes: number): Promise<Extracted> {
  if (Buffer.from(bytes.subarray(0, 1024)).toString('latin1').indexOf(PDF_MAGIC) === -1)
    throw new AppError('invalid_document', 'The file is not a PDF (no %PDF- header)');
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: pdf.js takes ownership of (and may detach) the buffer it is given.
    doc = await getDocumentProxy(new Uint8Array(bytes), {
      isEvalSupported: false,
      useSystemFonts: false,
      disableFontFace: true,
      verbosity: 0,
    });
  } catch (err) {
    if ((err as Error).name === 'PasswordException')
      throw new AppError(
        'pdf_encrypted',
        'The PDF is encrypted with a password; remove the password and upload it again',
      );
    throw new AppError('invalid_document', 'The PDF could not be read (damaged or not a PDF)');
  }
  try {
    if (doc.numPages > MAX_PDF_PAGES)
      throw new AppError('payload_too_large', `A PDF may have at most ${MAX_PDF_PAGES} pages`);
    const pages: string[] = [];
    let chars = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      let content: Awaited<ReturnType<Awaited<ReturnType<typeof doc.getPage>>['getTextContent']>>;
      try {
        content = await (await doc.getPage(n)).getTextContent();
      } catch {
        throw new AppError('invalid_document', `Page ${n} of the PDF could not be read (damaged)`);
      }
      let text = '';
      let lastY: number | null = null;
      for (const item of content.items) {
        if (!('str' in item)) continue;
        const y = item.transform[5] as number;
        const height = Math.abs(item.height) || Math.abs(item.transform[3] as number) || 10;
        if (lastY !== null && item.str && Math.abs(lastY - y) > height * 1.5 && !text.endsWith('\n\n'))
          text += text.endsWith('\n') ? '\n' : '\n\n';
        if (item.str) lastY = y;
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      text = text
        .replace(CONTROL, '')
        .replace(/[ \t\u00a0]+/g, ' ')
        .replace(/ *\n */g, '\n')
        .trim();
      if (text) pages.push(text);
      chars += text.length;
      if (chars > maxTextBytes) throw tooMuchText(maxTextBytes);
    }
    const text = pages.join('\n\n');
    if (!/\S/.test(text))
      throw new AppError(
        'pdf_no_text',
        'The PDF has no text layer (scanned or image-only pages); run it through OCR first, or upload its text',
      );
    if (Buffer.byteLength(text, 'utf8') > maxTextBytes) throw tooMuchText(maxTextBytes);
    let title: string | null = null;
    try {
      const meta = await doc.getMetadata();
      const t = (meta.info as { Title?: unknown } | undefined)?.Title;
      const clean = typeof t === 'string' ? t.replace(CONTROL, '').trim() : '';
      if (clean) title = clean.slice(0, 200);
    } catch {
      // no usable metadata: no title
    }
    return { text, chunkFormat: 'text', title, pages: doc.numPages };
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

/**
 * Decodes an HTML page's bytes: the charset of the Content-Type header, else a byte-order mark, else a
 * `<meta charset>` in the first 2 KB, else UTF-8. An unknown label falls back to UTF-8.
 */
export function decodeHtml(bytes: Uint8Array, contentType: string | null): string {
  const head = Buffer.from(bytes.subarray(0, 2048)).toString('latin1');
  const label =
    /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1] ??
    (head.startsWith('\u00ef\u00bb\u00bf') ? 'utf-8' : undefined) ??
    /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ??
    'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** Elements never read: code, styling, embedded objects and forms. */
const SKIP = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'canvas',
  'iframe',
  'object',
  'embed',
  'form',
  'button',
  'select',
  'textarea',
  'input',
]);
/** Page furniture: never read, not even inside what Readability kept (on a short page it keeps the body). */
const ARTICLE_SKIP = new Set([...SKIP, 'nav', 'footer', 'aside', 'dialog']);
/** When Readability found nothing and the whole body is read, its header goes too. */
const FURNITURE = new Set([...ARTICLE_SKIP, 'header']);
/** Elements that end a paragraph. */
const BLOCK = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'blockquote',
  'figure',
  'figcaption',
  'hr',
  'address',
  'details',
  'summary',
  'body',
]);

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/**
 * Markdown from a DOM subtree: `#` headings, `-` list items, fenced `pre`, one paragraph per block, inline
 * text with its whitespace collapsed. Links, emphasis and images are reduced to their text.
 */
function toMarkdown(root: DomNode, skip: ReadonlySet<string>): string {
  const blocks: string[] = [];
  let line = '';
  const flush = (prefix = '') => {
    const t = line.replace(/[ \t\u00a0]+/g, ' ').trim();
    if (t) blocks.push(prefix + t);
    line = '';
  };
  const walk = (node: DomNode) => {
    if (node.nodeType === 3) {
      line += (node.textContent ?? '').replace(/\s+/g, ' ');
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = node.nodeName.toLowerCase();
    if (skip.has(tag)) return;
    const heading = /^h([1-6])$/.exec(tag);
    if (heading) {
      flush();
      for (const c of Array.from(node.childNodes)) walk(c);
      flush(`${'#'.repeat(Number(heading[1]))} `);
      return;
    }
    if (tag === 'li') {
      flush();
      for (const c of Array.from(node.childNodes)) walk(c);
      flush('- ');
      return;
    }
    if (tag === 'pre') {
      flush();
      const code = (node.textContent ?? '').replace(/\s+$/, '');
      if (code.trim()) blocks.push(`\`\`\`\n${code}\n\`\`\``);
      return;
    }
    if (tag === 'br') {
      flush();
      return;
    }
    if (tag === 'td' || tag === 'th') {
      for (const c of Array.from(node.childNodes)) walk(c);
      line += ' | ';
      return;
    }
    const block = BLOCK.has(tag);
    if (block) flush();
    for (const c of Array.from(node.childNodes)) walk(c);
    if (block) flush();
  };
  walk(root);
  flush();
  return blocks
    .map((b) => b.replace(/( \| )+$/, '').replace(CONTROL, ''))
    .filter((b) => b.trim())
    .join('\n\n');
}

/**
 * The article of a web page as markdown: Mozilla Readability (Firefox's Reader View) on linkedom keeps the main
 * content and drops navigation, footers, sidebars, scripts and ads; when it finds no article (a short or unusual
 * page), the body is read with those elements removed. The page title comes first as a `#` heading unless the
 * article already starts with it.
 * @throws AppError invalid_document (no readable text) | payload_too_large (text over maxTextBytes)
 */
export function extractHtml(html: string, maxTextBytes: number): Extracted {
  let markdown = '';
  let title: string | null = null;
  try {
    const { document } = parseHTML(html);
    const article = new Readability(
      document as unknown as ConstructorParameters<typeof Readability>[0],
    ).parse();
    title = article?.title?.trim() || null;
    if (article?.content) {
      const parsed = parseHTML(`<!doctype html><html><body>${article.content}</body></html>`);
      markdown = toMarkdown(parsed.document.body as unknown as DomNode, ARTICLE_SKIP);
    }
  } catch {
    markdown = '';
  }
  if (!/\S/.test(markdown)) {
    try {
      const { document } = parseHTML(html);
      title ??= document.title?.trim() || null;
      markdown = toMarkdown((document.body ?? document.documentElement) as unknown as DomNode, FURNITURE);
    } catch {
      markdown = '';
    }
  }
  if (!/\S/.test(markdown)) throw new AppError('invalid_document', 'The page has no readable text');
  title = title?.replace(CONTROL, '').replace(/\s+/g, ' ').trim().slice(0, 200) || null;
  if (title && !markdown.startsWith('#')) markdown = `# ${title}\n\n${markdown}`;
  if (Buffer.byteLength(markdown, 'utf8') > maxTextBytes) throw tooMuchText(maxTextBytes);
  return { text: markdown, chunkFormat: 'markdown', title };
}
