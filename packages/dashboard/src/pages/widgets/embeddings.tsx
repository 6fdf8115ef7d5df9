import { useEffect } from 'react';
import { api, orgPath } from '../../api';
import { ErrorNote, useAction, useLoad, when } from '../../ui';
import type { EmbeddingStatus, Widget } from './model';

/**
 * A widget's embedding progress: how many chunks carry the current model's vectors, the last failure, and
 * "Retry now". Refreshes every 2 s while chunks are waiting, and when `version` changes (a document added).
 */
export function Embeddings(props: { orgId: string; widget: Widget; write: boolean; version: number }) {
  const { orgId, widget } = props;
  const { data, error, reload } = useLoad(
    () => api<EmbeddingStatus>('GET', orgPath(orgId, `/widgets/${widget.id}/embeddings`)),
    [orgId, widget.id, widget.embeddingModel, widget.embeddingDimensions, props.version],
  );
  const retry = useAction();
  const waiting = data ? data.embedded < data.total : false;
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => void reload(), 2_000);
    return () => clearInterval(t);
  }, [waiting, reload]);
  if (!widget.embeddingModel) {
    return (
      <p className="muted" data-testid="embedding-status">
        Retrieval: full-text search only. Set an embedding model (Edit) to add vector search.
      </p>
    );
  }
  if (error) return <ErrorNote error={error.message} />;
  if (!data) return null;
  const pct = data.total ? Math.round((data.embedded / data.total) * 100) : 100;
  return (
    <div data-testid="embedding-status">
      <h3>Vector search</h3>
      <p>
        {data.model}
        {data.dimensions ? ` (${data.dimensions} dimensions)` : ''}: {data.embedded} of {data.total} passages
        embedded{waiting ? ' — documents are already searchable by full text meanwhile' : ''}.
      </p>
      <progress
        className={`bar${pct === 100 ? ' full' : ''}`}
        max={100}
        value={pct}
        aria-label="Embedding progress"
      >
        {pct}%
      </progress>
      {data.lastError ? (
        <div className="row">
          <p role="alert">
            Last failure {when(data.lastErrorAt)}: {data.lastError}. {data.failing} passage(s) will be retried
            automatically.
          </p>
          {props.write ? (
            <button
              type="button"
              disabled={retry.busy}
              onClick={async () => {
                await retry.act(() =>
                  api('POST', orgPath(orgId, `/widgets/${widget.id}/embeddings/retry`), {}),
                );
                await reload();
              }}
            >
              Retry now
            </button>
          ) : null}
        </div>
      ) : null}
      <ErrorNote error={retry.error} />
    </div>
  );
}
