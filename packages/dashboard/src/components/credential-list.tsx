import type { CredentialListed } from '@rampart/server/api-types';
import { type FormEvent, type ReactNode, useState } from 'react';
import { api } from '../api';
import { ErrorNote, Field, RevealOnce, useAction, useLoad, when } from '../ui';
import { Submit } from './fields';
import { DangerCell, ListTable } from './list-table';

/**
 * The life of a bearer credential on one component: create it (the secret is shown once), list what exists
 * (name, masked prefix, dates), revoke one at once. API keys, runtime tokens and CLI sessions all use it.
 */

/** What every credential listing returns per row: never the secret, only its public prefix. */
export type Credential = CredentialListed;

/**
 * The credential kinds the dashboard lists: the table's caption and test id, the heading of the masked column,
 * and the public part every secret of the kind starts with (before the stored prefix).
 */
const KINDS = {
  apiKey: { caption: 'API keys', testId: undefined, column: 'Key', start: 'rk_live_' },
  runtimeToken: {
    caption: 'Runtime tokens',
    testId: 'runtime-tokens-table',
    column: 'Token',
    start: 'rt_live_',
  },
  cliSession: { caption: 'CLI sessions', testId: 'cli-sessions', column: 'Credential', start: 'cli_live_' },
} as const;

/** The create form: omitted for credentials made elsewhere (a CLI session comes from `rampart login`). */
export interface CreateCredential<R> {
  /** The form's accessible name, e.g. "Create API key". */
  form: string;
  /** The name field's label and placeholder. */
  field: string;
  placeholder: string;
  button: string;
  /** The title over the secret shown once. */
  reveal: string;
  /** More inputs after the name (their state stays with the caller, which puts them in `body`). */
  fields?: ReactNode;
  body: (name: string) => Record<string, unknown>;
  /** The plaintext secret in the create answer. */
  secret: (created: R) => string;
}

export function CredentialList<C extends Credential, L, R>(props: {
  /** The collection: GET lists it, POST creates in it, DELETE `<path>/<id>` revokes. */
  path: string;
  items: (listed: L) => C[];
  kind: keyof typeof KINDS;
  /** Columns after "Last used", e.g. an expiry. */
  extraColumns?: ReadonlyArray<readonly [string, (c: C) => ReactNode]>;
  empty: ReactNode;
  revoke: { allowed: boolean; label: (c: C) => string; confirm: (c: C) => string };
  create?: CreateCredential<R> | undefined;
}) {
  const { path, create, revoke } = props;
  const kind = KINDS[props.kind];
  const state = useLoad(() => api<L>('GET', path), [path]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const { busy, error, act } = useAction();
  const extra = props.extraColumns ?? [];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!create) return;
    const r = await act(() => api<R>('POST', path, create.body(name)));
    if (r) {
      setCreated(create.secret(r));
      setName('');
      await state.reload();
    }
  };
  const remove = async (c: C) => {
    await act(() => api('DELETE', `${path}/${encodeURIComponent(c.id)}`));
    await state.reload();
  };

  return (
    <>
      {created && create ? (
        <RevealOnce title={create.reveal} value={created} onDone={() => setCreated(null)} />
      ) : null}
      {create ? (
        <form onSubmit={submit} className="inline" aria-label={create.form}>
          <Field
            label={create.field}
            value={name}
            onChange={setName}
            required
            placeholder={create.placeholder}
          />
          {create.fields}
          <Submit busy={busy}>{create.button}</Submit>
        </form>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={props.items}
        empty={props.empty}
        testId={kind.testId}
        caption={kind.caption}
        columns={[
          'Name',
          kind.column,
          'Created',
          'Last used',
          ...extra.map(([title]) => title),
          revoke.allowed && 'Actions',
        ]}
        row={(c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td>
              <code>
                {kind.start}
                {c.prefix}…
              </code>
            </td>
            <td>{when(c.createdAt)}</td>
            <td>{c.lastUsedAt ? when(c.lastUsedAt) : 'never'}</td>
            {extra.map(([title, cell]) => (
              <td key={title}>{cell(c)}</td>
            ))}
            <DangerCell
              show={revoke.allowed}
              onClick={() => remove(c)}
              label={revoke.label(c)}
              confirm={revoke.confirm(c)}
            >
              Revoke
            </DangerCell>
          </tr>
        )}
      />
    </>
  );
}
