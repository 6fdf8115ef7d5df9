import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../../api';
import { Submit } from '../../components/fields';
import { DangerCell, ListTable } from '../../components/list-table';
import { TextFileInput } from '../../components/text-file';
import { ErrorNote, Field, Select, TextArea, useAction, useLoad, when } from '../../ui';
import { bytes, type Doc, type Widget } from './model';

const FORMATS = [
  ['markdown', 'Markdown'],
  ['text', 'Plain text'],
] as const;

/** The knowledge documents a widget answers from: pasted or read from a local file as text, listed, deleted. */

export function Documents(props: { orgId: string; widget: Widget; write: boolean; onChanged: () => void }) {
  const { orgId, widget, write } = props;
  const state = useLoad(
    () => api<{ documents: Doc[] }>('GET', orgPath(orgId, `/widgets/${widget.id}/documents`)),
    [orgId, widget.id],
  );
  const [name, setName] = useState('');
  const [format, setFormat] = useState<'text' | 'markdown'>('markdown');
  const [content, setContent] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const { busy, error, setError, act } = useAction();

  const read = (text: string, file: File) => {
    setContent(text);
    if (!name) setName(file.name);
    setFormat(/\.(md|markdown)$/i.test(file.name) ? 'markdown' : 'text');
    setError(null);
  };
  const upload = async (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    const r = await act(() =>
      api<Doc>('POST', orgPath(orgId, `/widgets/${widget.id}/documents`), {
        name: name.trim(),
        format,
        content,
      }),
    );
    if (r) {
      setAdded(`Added ${r.name}: ${bytes(r.bytes)} in ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}.`);
      setName('');
      setContent('');
      await state.reload();
      props.onChanged();
    }
  };
  const remove = async (doc: Doc) => {
    await act(() => api('DELETE', orgPath(orgId, `/widgets/${widget.id}/documents/${doc.id}`)));
    await state.reload();
    props.onChanged();
  };

  return (
    <section aria-labelledby={`docs-${widget.id}`}>
      <h3 id={`docs-${widget.id}`}>Knowledge documents</h3>
      <p className="muted">The widget answers from the best-matching passages of these documents.</p>
      {write ? (
        <form onSubmit={upload} aria-label="Add a document">
          <div className="grid2">
            <Field label="Document name" value={name} onChange={setName} required placeholder="faq.md" />
            <Select label="Format" value={format} onChange={setFormat} options={FORMATS} />
            <TextFileInput
              label="Read from a file (optional)"
              accept=".txt,.md,.markdown,text/plain,text/markdown"
              hint="The file is read as text in your browser and placed below."
              onText={read}
              onUnreadable={(file) => setError(`${file.name} could not be read as text.`)}
            />
          </div>
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
          <Submit busy={busy} disabled={!content} done={added}>
            Upload document
          </Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.documents}
        empty={<>No documents yet.{write ? ' Add your FAQ or help pages so the widget can answer.' : ''}</>}
        testId="documents-table"
        caption={`Documents of ${widget.name}`}
        columns={['Name', 'Format', 'Size', 'Chunks', 'Added', write && 'Actions']}
        row={(doc) => (
          <tr key={doc.id}>
            <td>{doc.name}</td>
            <td>{doc.format}</td>
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
