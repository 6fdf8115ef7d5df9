import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../../api';
import { SaveOrCancel } from '../../components/fields';
import { type EditorProps, ErrorNote, Field, NumberField, SuggestField, TextArea, useAction } from '../../ui';
import type { Widget } from './model';

/** Create or edit a widget: name, model, allowed origins, system prompt, rate limits and retrieval settings. */

interface Draft {
  name: string;
  origins: string;
  systemPrompt: string;
  model: string;
  perIp: string;
  perWidget: string;
  embeddingModel: string;
  embeddingDimensions: string;
  minSimilarity: string;
  retentionDays: string;
}
const draftOf = (w: Widget | null): Draft => ({
  name: w?.name ?? '',
  origins: w?.allowedOrigins.join('\n') ?? '',
  systemPrompt: w?.systemPrompt ?? '',
  model: w?.model ?? '',
  perIp: String(w?.limits.perIpPerMinute ?? 10),
  perWidget: String(w?.limits.perWidgetPerMinute ?? 600),
  embeddingModel: w?.embeddingModel ?? '',
  embeddingDimensions: w?.embeddingDimensions ? String(w.embeddingDimensions) : '',
  minSimilarity: String(w?.minSimilarity ?? 0.3),
  retentionDays: String(w?.conversationRetentionDays ?? 30),
});

export function WidgetForm(props: EditorProps<Widget> & { widget: Widget | null; models: string[] }) {
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
      embeddingModel: d.embeddingModel.trim() || null,
      embeddingDimensions: d.embeddingDimensions.trim() ? Number(d.embeddingDimensions) : null,
      minSimilarity: Number(d.minSimilarity),
      conversationRetentionDays: Number(d.retentionDays),
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
      <fieldset disabled={busy}>
        <legend>Retrieval</legend>
        <div className="grid2">
          <SuggestField
            label="Embedding model (optional)"
            value={d.embeddingModel}
            onChange={(v) => set('embeddingModel', v)}
            suggestions={props.models}
            required={false}
            hint="Adds vector search to full-text search. Empty: full text only. Changing it re-embeds every document."
          />
          <NumberField
            label="Embedding size (optional)"
            value={d.embeddingDimensions}
            onChange={(v) => set('embeddingDimensions', v)}
            hint="16 to 2,000; empty: the model's own size."
          />
        </div>
        <Field
          label="Answer threshold"
          value={d.minSimilarity}
          onChange={(v) => set('minSimilarity', v)}
          hint="Similarity (0 to 1) a document passage needs for a message to count as answered."
        />
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Conversations</legend>
        <NumberField
          label="Keep conversations (days)"
          value={d.retentionDays}
          onChange={(v) => set('retentionDays', v)}
          hint="1 to 365. Visitor conversations are deleted this long after their last message."
        />
      </fieldset>
      <ErrorNote error={error} />
      <SaveOrCancel busy={busy} onCancel={props.onCancel}>
        {props.widget ? 'Save changes' : 'Create widget'}
      </SaveOrCancel>
    </form>
  );
}
