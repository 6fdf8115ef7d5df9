import { type ChangeEvent, type FormEvent, useId, useState } from 'react';
import { api, orgPath } from '../../api';
import { Submit } from '../../components/fields';
import { DangerCell, ListTable } from '../../components/list-table';
import {
  ErrorNote,
  Field,
  Hint,
  hintOf,
  readAsText,
  Select,
  TextArea,
  useAction,
  useLoad,
  when,
} from '../../ui';
import { bytes, type Doc, type Widget } from './model';

const FORMATS = [
  ['markdown', 'Markdown'],
  ['text', 'Plain text'],
  ['html', 'HTML (web page)'],
] as const;
type TextFormat = (typeof FORMATS)[number][0];

const FORMAT_NAMES: Record<Doc['format'], string> = {
  markdown: 'Markdown',
  text: 'Text',
  html: 'Web page',
  pdf: 'PDF',
};

/** A PDF chosen in the picker: sent as is (base64 in the JSON body); its text is extracted on the server. */
interface PdfFile {
  name: string;
  size: number;
  base64: string;
}

const isPdf = (file: File) => file.type === 'application/pdf' || /\.pdf$/i.test(file.name);
const formatOf = (name: string): TextFormat =>
  /\.(md|markdown)$/i.test(name) ? 'markdown' : /\.html?$/i.test(name) ? 'html' : 'text';

/** A file's bytes as base64 (the data: URL FileReader makes, without its prefix). */
function readAsBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = typeof reader.result === 'string' ? reader.result : '';
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsDataURL(file);
  });
}

/**
 * The file picker of the document form: text, markdown and HTML files are read as text in the browser and put
 * in the text box; a PDF is kept as bytes for the upload. The picker is emptied afterwards, so the same file can
 * be chosen again.
 */
function DocumentFileInput(props: {
  onText: (text: string, file: File) => void;
  onPdf: (pdf: PdfFile) => void;
  onUnreadable: (file: File) => void;
}) {
  const id = useId();
  const hint =
    'Text, markdown and HTML files are read in your browser and shown below; a PDF is uploaded as is and its text extracted on the server.';
  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const file = input.files?.[0];
    if (!file) return;
    try {
      if (isPdf(file)) props.onPdf({ name: file.name, size: file.size, base64: await readAsBase64(file) });
      else props.onText(await readAsText(file), file);
    } catch {
      props.onUnreadable(file);
    } finally {
      input.value = '';
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>Read from a file (optional)</label>
      <input
        id={id}
        type="file"
        accept=".txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf"
        onChange={pick}
        aria-describedby={hintOf(id, hint)}
      />
      <Hint id={id} text={hint} />
    </div>
  );
}

/**
 * The knowledge documents a widget answers from: text pasted or read from a file, PDF and HTML files, or a web
 * page fetched by URL; listed with their chunk counts, deleted.
 */
export function Documents(props: { orgId: string; widget: Widget; write: boolean; onChanged: () => void }) {
  const { orgId, widget, write } = props;
  const path = orgPath(orgId, `/widgets/${widget.id}/documents`);
  const state = useLoad(() => api<{ documents: Doc[] }>('GET', path), [orgId, widget.id]);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<TextFormat>('markdown');
  const [content, setContent] = useState('');
  const [pdf, setPdf] = useState<PdfFile | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const { busy, error, setError, act } = useAction();
  const [url, setUrl] = useState('');
  const [urlName, setUrlName] = useState('');
  const [fetched, setFetched] = useState<string | null>(null);
  const byUrl = useAction();

  const addedNote = (r: Doc) =>
    `Added ${r.name}: ${bytes(r.bytes)} of text in ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}.`;
  const changed = async () => {
    await state.reload();
    props.onChanged();
  };

  const readText = (text: string, file: File) => {
    setPdf(null);
    setContent(text);
    if (!name) setName(file.name);
    setFormat(formatOf(file.name));
    setError(null);
  };
  const readPdf = (file: PdfFile) => {
    setPdf(file);
    setContent('');
    if (!name) setName(file.name);
    setError(null);
  };
  const upload = async (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    const body = pdf
      ? { name: name.trim(), format: 'pdf', contentBase64: pdf.base64 }
      : { name: name.trim(), format, content };
    const r = await act(() => api<Doc>('POST', path, body));
    if (r) {
      setAdded(addedNote(r));
      setName('');
      setContent('');
      setPdf(null);
      await changed();
    }
  };
  const fetchPage = async (e: FormEvent) => {
    e.preventDefault();
    setFetched(null);
    const r = await byUrl.act(() =>
      api<Doc>('POST', `${path}/from-url`, {
        url: url.trim(),
        ...(urlName.trim() ? { name: urlName.trim() } : {}),
      }),
    );
    if (r) {
      setFetched(addedNote(r));
      setUrl('');
      setUrlName('');
      await changed();
    }
  };
  const remove = async (doc: Doc) => {
    await act(() => api('DELETE', `${path}/${doc.id}`));
    await changed();
  };

  return (
    <section aria-labelledby={`docs-${widget.id}`}>
      <h3 id={`docs-${widget.id}`}>Knowledge documents</h3>
      <p className="muted">The widget answers from the best-matching passages of these documents.</p>
      {write ? (
        <>
          <form onSubmit={upload} aria-label="Add a document">
            <div className="grid2">
              <Field label="Document name" value={name} onChange={setName} required placeholder="faq.md" />
              {pdf ? (
                <p className="small" data-testid="pdf-selected">
                  PDF: {pdf.name} ({bytes(pdf.size)}). Its text is extracted on the server.{' '}
                  <button type="button" onClick={() => setPdf(null)}>
                    Remove the PDF
                  </button>
                </p>
              ) : (
                <Select label="Format" value={format} onChange={setFormat} options={FORMATS} />
              )}
              <DocumentFileInput
                onText={readText}
                onPdf={readPdf}
                onUnreadable={(file) => setError(`${file.name} could not be read.`)}
              />
            </div>
            {pdf ? null : (
              <>
                <TextArea
                  label="Document text"
                  value={content}
                  onChange={setContent}
                  required
                  rows={8}
                  placeholder={'# Returns\nYou can return any item within 30 days…'}
                />
                <p className="small muted">
                  {content ? `${bytes(new TextEncoder().encode(content).length)} to add` : ''}
                </p>
              </>
            )}
            <Submit busy={busy} disabled={!content && !pdf} done={added}>
              Upload document
            </Submit>
          </form>
          <ErrorNote error={error} />
          <form onSubmit={fetchPage} aria-label="Add a web page">
            <div className="grid2">
              <Field
                label="Page URL"
                type="url"
                value={url}
                onChange={setUrl}
                required
                placeholder="https://shop.example.com/help/returns"
                hint="Rampart fetches the page (or PDF) and keeps its main text, without menus and footers."
              />
              <Field
                label="Name (optional)"
                value={urlName}
                onChange={setUrlName}
                placeholder="The page title"
              />
            </div>
            <Submit busy={byUrl.busy} disabled={!url.trim()} done={fetched}>
              Fetch and add
            </Submit>
            <ErrorNote error={byUrl.error} />
          </form>
        </>
      ) : (
        <ErrorNote error={error} />
      )}
      <ListTable
        state={state}
        items={(d) => d.documents}
        empty={<>No documents yet.{write ? ' Add your FAQ or help pages so the widget can answer.' : ''}</>}
        testId="documents-table"
        caption={`Documents of ${widget.name}`}
        columns={['Name', 'Format', 'Size', 'Chunks', 'Added', write && 'Actions']}
        row={(doc) => (
          <tr key={doc.id}>
            <td>
              {doc.name}
              {doc.sourceUrl ? <div className="small muted">{doc.sourceUrl}</div> : null}
            </td>
            <td>{FORMAT_NAMES[doc.format]}</td>
            <td>{bytes(doc.bytes)}</td>
            <td>{doc.chunks}</td>
            <td>{when(doc.createdAt)}</td>
            <DangerCell
              show={write}
              onClick={() => remove(doc)}
              label={`Delete document ${doc.name}`}
              confirm={`Delete "${doc.name}" from ${widget.name}'s knowledge base?`}
            >
              Delete
            </DangerCell>
          </tr>
        )}
      />
    </section>
  );
}
