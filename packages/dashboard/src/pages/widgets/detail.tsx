import { useState } from 'react';
import { api, orgPath } from '../../api';
import { CopyButton, confirmed, DangerButton, ErrorNote, useAction } from '../../ui';
import { Conversations } from './conversations';
import { Documents } from './documents';
import { Embeddings } from './embeddings';
import { embedSnippet, type Widget } from './model';

/** One widget: edit and delete, the snippet to embed, its documents, and what visitors asked it. */

export function WidgetDetail(props: {
  orgId: string;
  widget: Widget;
  write: boolean;
  onEdit: () => void;
  onDeleted: () => void;
  onDocsChanged: () => void;
}) {
  const { orgId, widget, write } = props;
  const { busy, error, act } = useAction();
  const [docsVersion, setDocsVersion] = useState(0);
  const snippet = embedSnippet(location.origin, widget.id);
  const remove = async () => {
    if (
      !confirmed(`Delete the widget "${widget.name}" and all its documents? Sites embedding it stop working.`)
    )
      return;
    const r = await act(() => api('DELETE', orgPath(orgId, `/widgets/${widget.id}`)).then(() => true));
    if (r) props.onDeleted();
  };
  return (
    <section className="panel" aria-labelledby={`widget-${widget.id}`} data-testid="widget-detail">
      <div className="page-head">
        <h2 id={`widget-${widget.id}`}>{widget.name}</h2>
        {write ? (
          <div className="row">
            <button type="button" onClick={props.onEdit} disabled={busy}>
              Edit
            </button>
            <DangerButton onClick={remove} disabled={busy}>
              Delete widget
            </DangerButton>
          </div>
        ) : null}
      </div>
      <ErrorNote error={error} />
      <h3>Embed</h3>
      <p>Paste this before the closing &lt;/body&gt; tag of each page on an allowed origin:</p>
      <pre className="secret" data-testid="embed-snippet">
        {snippet}
      </pre>
      <CopyButton text={snippet} label="Copy snippet" />
      <Documents
        orgId={orgId}
        widget={widget}
        write={write}
        onChanged={() => {
          setDocsVersion((v) => v + 1);
          props.onDocsChanged();
        }}
      />
      <Embeddings orgId={orgId} widget={widget} write={write} version={docsVersion} />
      <Conversations orgId={orgId} widget={widget} write={write} />
    </section>
  );
}
