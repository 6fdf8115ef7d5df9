import { useEffect, useState } from 'react';
import { api, orgPath } from '../../api';
import { ListTable } from '../../components/list-table';
import { can, type Role } from '../../permissions';
import { Page, useLoad, when } from '../../ui';
import { WidgetDetail } from './detail';
import { WidgetForm } from './form';
import type { Billing, Provider, Widget } from './model';
import { Quota } from './quota';

/**
 * Chat widgets: create and edit (origins, system prompt, model, limits), the knowledge documents each answers
 * from (pasted or read from a local file as text), the plan's knowledge quota, and the snippet to embed.
 */

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
      <ListTable
        state={state}
        items={(d) => d.widgets}
        empty={<>No widgets yet.{write ? ' Create one to put a chat box on your site.' : ''}</>}
        testId="widgets-table"
        caption="Widgets"
        columns={['Name', 'Allowed origins', 'Model', 'Limits', 'Created']}
        row={(w) => (
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
        )}
      />
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
