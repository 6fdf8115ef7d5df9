import { type ChangeEvent, type FormEvent, useEffect, useId, useState } from 'react';
import { api, orgPath } from '../api';
import { can, type Role } from '../permissions';
import {
  CopyButton,
  DangerButton,
  Empty,
  ErrorNote,
  Field,
  Loaded,
  LoadedList,
  NumberField,
  Page,
  Select,
  SuggestField,
  Table,
  TextArea,
  useAction,
  useLoad,
  when,
} from '../ui';

/**
 * Chat widgets: create and edit (origins, system prompt, model, limits), the knowledge documents each answers
 * from (pasted or read from a local file as text), the plan's knowledge quota, and the snippet to embed.
 */

interface Limits {
  perIpPerMinute: number;
  perWidgetPerMinute: number;
}
interface Widget {
  id: string;
  name: string;
  allowedOrigins: string[];
  systemPrompt: string;
  model: string;
  limits: Limits;
  createdAt: string;
  updatedAt: string;
}
interface Doc {
  id: string;
  name: string;
  format: 'text' | 'markdown';
  bytes: number;
  chunks: number;
  createdAt: string;
}
interface Usage {
  widgets: number;
  monthlyMessages: number;
  knowledgeBytes: number;
}
interface Billing {
  plan: string;
  limits: Usage;
  usage: Usage;
  messageCredits: number;
}
interface Provider {
  name: string;
  models: string[];
}

/** 1536 -> "1.5 KB" (decimal units, as the plans are stated). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}

/** The snippet a customer pastes into their site. */
export const embedSnippet = (origin: string, widgetId: string) =>
  `<script src="${origin}/widget.js" data-widget-id="${widgetId}" async></script>`;

/** Reads a local file as UTF-8 text in the browser (nothing is uploaded until the form is sent). */
function readAsText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsText(file);
  });
}

// ---------------------------------------------------------------------------------------------------------

/** The plan and how much of it is used; knowledge bytes as a bar (a <progress> element: no inline style). */
function Quota({ state }: { state: ReturnType<typeof useLoad<Billing>> }) {
  const barId = useId();
  return (
    <Loaded state={state}>
      {(b) => {
        const used = b.usage.knowledgeBytes;
        const limit = b.limits.knowledgeBytes;
        const pct = limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 0;
        return (
          <section className="panel quota" aria-labelledby={`${barId}-title`} data-testid="quota">
            <h2 id={`${barId}-title`}>
              Plan: <span className="plan">{b.plan}</span>
            </h2>
            <label htmlFor={barId}>Knowledge base</label>
            <progress
              id={barId}
              className={`bar${pct >= 90 ? ' full' : ''}`}
              max={limit}
              value={Math.min(used, limit)}
              aria-describedby={`${barId}-text`}
            >
              {pct}%
            </progress>
            <p id={`${barId}-text`} className="small" data-testid="quota-text">
              {bytes(used)} of {bytes(limit)} used ({pct}%)
            </p>
            <p className="small muted">
              Widgets: {b.usage.widgets} of {b.limits.widgets} · Messages this month:{' '}
              {b.usage.monthlyMessages} of {b.limits.monthlyMessages}
              {b.messageCredits ? ` · ${b.messageCredits} extra message credits` : ''}
            </p>
          </section>
        );
      }}
    </Loaded>
  );
}

// ---------------------------------------------------------------------------------------------------------

interface Draft {
  name: string;
  origins: string;
  systemPrompt: string;
  model: string;
  perIp: string;
  perWidget: string;
}
const draftOf = (w: Widget | null): Draft => ({
  name: w?.name ?? '',
  origins: w?.allowedOrigins.join('\n') ?? '',
  systemPrompt: w?.systemPrompt ?? '',
  model: w?.model ?? '',
  perIp: String(w?.limits.perIpPerMinute ?? 10),
  perWidget: String(w?.limits.perWidgetPerMinute ?? 600),
});

function WidgetForm(props: {
  orgId: string;
  widget: Widget | null;
  models: string[];
  onSaved: (w: Widget) => void;
  onCancel: () => void;
}) {
  const [d, setD] = useState<Draft>(() => draftOf(props.widget));
  const { busy, error, act } = useAction();
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body = {
      name: d.name.trim(),
      allowedOrigins: d.origins
        .split('\n')
        .map((o) => o.trim())
        .filter(Boolean),
      systemPrompt: d.systemPrompt,
      model: d.model.trim(),
      limits: { perIpPerMinute: Number(d.perIp), perWidgetPerMinute: Number(d.perWidget) },
    };
    const r = await act(() =>
      props.widget
        ? api<Widget>('PATCH', orgPath(props.orgId, `/widgets/${props.widget.id}`), body)
        : api<Widget>('POST', orgPath(props.orgId, '/widgets'), body),
    );
    if (r) props.onSaved(r);
  };

  return (
    <form
      onSubmit={save}
      className="panel"
      aria-label={props.widget ? `Edit widget ${props.widget.name}` : 'Create a widget'}
    >
      <h2>{props.widget ? `Edit “${props.widget.name}”` : 'New widget'}</h2>
      <fieldset disabled={busy}>
        <legend>Widget</legend>
        <div className="grid2">
          <Field label="Widget name" value={d.name} onChange={(v) => set('name', v)} required />
          <SuggestField
            label="Model"
            value={d.model}
            onChange={(v) => set('model', v)}
            suggestions={props.models}
            hint="Served by one of your providers (Settings → Model providers)."
          />
        </div>
        <TextArea
          label="Allowed origins (one per line)"
          value={d.origins}
          onChange={(v) => set('origins', v)}
          required
          rows={3}
          placeholder={'https://shop.example.com\nhttp://localhost:3000'}
          hint="Exactly as browsers send them: scheme, host and port; no path, no trailing slash, no wildcard."
        />
        <TextArea
          label="System prompt"
          value={d.systemPrompt}
          onChange={(v) => set('systemPrompt', v)}
          rows={5}
          hint="What the assistant is told before every visitor message (up to 8,000 characters)."
        />
        <div className="grid2">
          <NumberField
            label="Messages per visitor IP per minute"
            value={d.perIp}
            onChange={(v) => set('perIp', v)}
          />
          <NumberField
            label="Messages per widget per minute"
            value={d.perWidget}
            onChange={(v) => set('perWidget', v)}
          />
        </div>
      </fieldset>
      <ErrorNote error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {props.widget ? 'Save changes' : 'Create widget'}
        </button>
        <button type="button" onClick={props.onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// ---------------------------------------------------------------------------------------------------------

function Documents(props: { orgId: string; widget: Widget; write: boolean; onChanged: () => void }) {
  const { orgId, widget, write } = props;
  const state = useLoad(
    () => api<{ documents: Doc[] }>('GET', orgPath(orgId, `/widgets/${widget.id}/documents`)),
    [orgId, widget.id],
  );
  const [name, setName] = useState('');
  const [format, setFormat] = useState<'text' | 'markdown'>('markdown');
  const [content, setContent] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  const fileId = useId();
  const { busy, error, setError, act } = useAction();

  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const file = input.files?.[0];
    if (!file) return;
    try {
      setContent(await readAsText(file));
      if (!name) setName(file.name);
      setFormat(/\.(md|markdown)$/i.test(file.name) ? 'markdown' : 'text');
      setError(null);
    } catch {
      setError(`${file.name} could not be read as text.`);
    } finally {
      // The text is in the form now; the picker is emptied so the same file can be chosen again.
      input.value = '';
    }
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
    if (!window.confirm(`Delete "${doc.name}" from ${widget.name}'s knowledge base?`)) return;
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
            <Select
              label="Format"
              value={format}
              onChange={setFormat}
              options={[
                ['markdown', 'Markdown'],
                ['text', 'Plain text'],
              ]}
            />
            <div className="field">
              <label htmlFor={fileId}>Read from a file (optional)</label>
              <input
                id={fileId}
                type="file"
                accept=".txt,.md,.markdown,text/plain,text/markdown"
                onChange={pick}
                aria-describedby={`${fileId}-hint`}
              />
              <small id={`${fileId}-hint`} className="hint">
                The file is read as text in your browser and placed below.
              </small>
            </div>
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
          <button type="submit" className="primary" disabled={busy || !content}>
            Upload document
          </button>
          {added ? (
            <p role="status" className="ok">
              {added}
            </p>
          ) : null}
        </form>
      ) : null}
      <ErrorNote error={error} />
      <LoadedList
        state={state}
        items={(d) => d.documents}
        empty={<>No documents yet.{write ? ' Add your FAQ or help pages so the widget can answer.' : ''}</>}
      >
        {(documents) => (
          <Table
            testId="documents-table"
            caption={`Documents of ${widget.name}`}
            columns={['Name', 'Format', 'Size', 'Chunks', 'Added', write && 'Actions']}
          >
            {documents.map((doc) => (
              <tr key={doc.id}>
                <td>{doc.name}</td>
                <td>{doc.format}</td>
                <td>{bytes(doc.bytes)}</td>
                <td>{doc.chunks}</td>
                <td>{when(doc.createdAt)}</td>
                {write ? (
                  <td>
                    <DangerButton onClick={() => remove(doc)} label={`Delete document ${doc.name}`}>
                      Delete
                    </DangerButton>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </section>
  );
}

function WidgetDetail(props: {
  orgId: string;
  widget: Widget;
  write: boolean;
  onEdit: () => void;
  onDeleted: () => void;
  onDocsChanged: () => void;
}) {
  const { orgId, widget, write } = props;
  const { busy, error, act } = useAction();
  const snippet = embedSnippet(location.origin, widget.id);
  const remove = async () => {
    if (
      !window.confirm(
        `Delete the widget "${widget.name}" and all its documents? Sites embedding it stop working.`,
      )
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
      <Documents orgId={orgId} widget={widget} write={write} onChanged={props.onDocsChanged} />
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------

type Mode = { kind: 'view' } | { kind: 'create' } | { kind: 'edit'; widget: Widget };

export function Widgets({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<{ widgets: Widget[] }>('GET', orgPath(orgId, '/widgets')), [orgId]);
  const billing = useLoad(() => api<Billing>('GET', orgPath(orgId, '/billing')), [orgId]);
  const readProviders = can(role, 'providers.read');
  const providers = useLoad(
    () =>
      readProviders
        ? api<{ providers: Provider[] }>('GET', orgPath(orgId, '/providers'))
        : Promise.resolve({ providers: [] as Provider[] }),
    [orgId, readProviders],
  );
  const [mode, setMode] = useState<Mode>({ kind: 'view' });
  const [selected, setSelected] = useState<string | null>(null);
  const write = can(role, 'widgets.write');
  const widgets = state.data?.widgets ?? [];
  const models = [...new Set((providers.data?.providers ?? []).flatMap((p) => p.models))];

  // Open the first widget when none is chosen (the free plan has exactly one).
  useEffect(() => {
    if (selected === null && widgets[0]) setSelected(widgets[0].id);
  }, [selected, widgets]);
  const current = widgets.find((w) => w.id === selected) ?? null;
  const atLimit = billing.data ? billing.data.usage.widgets >= billing.data.limits.widgets : false;

  const saved = async (w: Widget) => {
    setMode({ kind: 'view' });
    setSelected(w.id);
    await Promise.all([state.reload(), billing.reload()]);
  };

  return (
    <Page
      title="Chat widgets"
      actions={
        write && mode.kind === 'view' ? (
          <button
            type="button"
            className="primary"
            onClick={() => setMode({ kind: 'create' })}
            disabled={atLimit}
            title={atLimit ? 'Your plan’s widget limit is reached' : undefined}
          >
            New widget
          </button>
        ) : null
      }
    >
      <Quota state={billing} />
      {write && atLimit && mode.kind === 'view' ? (
        <p className="muted">
          Your plan’s widget limit is reached: upgrade, or delete a widget to add another.
        </p>
      ) : null}
      {mode.kind !== 'view' ? (
        <WidgetForm
          key={mode.kind === 'edit' ? mode.widget.id : 'new'}
          orgId={orgId}
          widget={mode.kind === 'edit' ? mode.widget : null}
          models={models}
          onSaved={saved}
          onCancel={() => setMode({ kind: 'view' })}
        />
      ) : null}
      <Loaded state={state}>
        {({ widgets: list }) =>
          list.length === 0 ? (
            <Empty>No widgets yet.{write ? ' Create one to put a chat box on your site.' : ''}</Empty>
          ) : (
            <Table
              testId="widgets-table"
              caption="Widgets"
              columns={['Name', 'Allowed origins', 'Model', 'Limits', 'Created']}
            >
              {list.map((w) => (
                <tr key={w.id} aria-current={selected === w.id ? 'true' : undefined}>
                  <td>
                    <button
                      type="button"
                      className="link"
                      onClick={() => setSelected(w.id)}
                      aria-label={`Open widget ${w.name}`}
                    >
                      {w.name}
                    </button>
                  </td>
                  <td>
                    {w.allowedOrigins.map((o) => (
                      <code key={o} className="block">
                        {o}
                      </code>
                    ))}
                  </td>
                  <td>
                    <code>{w.model}</code>
                  </td>
                  <td className="small">
                    {w.limits.perIpPerMinute}/min per visitor IP
                    <br />
                    {w.limits.perWidgetPerMinute}/min in all
                  </td>
                  <td>{when(w.createdAt)}</td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      {current && mode.kind === 'view' ? (
        <WidgetDetail
          key={current.id}
          orgId={orgId}
          widget={current}
          write={write}
          onEdit={() => setMode({ kind: 'edit', widget: current })}
          onDeleted={async () => {
            setSelected(null);
            await Promise.all([state.reload(), billing.reload()]);
          }}
          onDocsChanged={() => void billing.reload()}
        />
      ) : null}
    </Page>
  );
}
