import { sealConnection } from '@rampart/core/connseal';
import type { Connection, QueryAuditRow } from '@rampart/server/api-types';
import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../api';
import { ExportButtons } from '../components/export-buttons';
import { SecretField, Submit } from '../components/fields';
import { DangerCell, ListTable } from '../components/list-table';
import { can, type Role } from '../permissions';
import {
  actor,
  CopyButton,
  Empty,
  ErrorNote,
  Field,
  Loaded,
  OkNote,
  Page,
  RevealOnce,
  Select,
  Table,
  useAction,
  useLoad,
  when,
} from '../ui';

/**
 * AI database access: connections and the query audit. A cloud connection string is sealed here, in the
 * browser, under a key derived from the API key that will run the queries (PBKDF2-SHA256, 600,000 rounds,
 * AES-256-GCM; the same envelope as `rampart seal-connection`). Only the envelope is sent: neither the
 * connection string nor the API key reaches the server from this page, and both fields are emptied at once.
 */

type Mode = Connection['mode'];
const MODES = [
  ['cloud', 'Cloud: Rampart connects, with a sealed connection string'],
  ['agent', 'Agent: runs inside your network and connects out'],
] as const;
type AuditRow = QueryAuditRow;

/** Why a connection string cannot be sealed as is (the server only runs postgres:// URLs), or null. */
export function connectionStringProblem(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s.trim());
  } catch {
    return 'The connection string must be a URL such as postgres://reader:password@db.example.com:5432/sales.';
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    return 'Only postgres:// (or postgresql://) connection strings are supported.';
  if (!u.hostname) return 'The connection string has no host.';
  return null;
}

const agentCommand = (origin: string, token: string) =>
  `rampart agent --server ${origin} --token ${token} --database-url 'postgres://reader@db.internal/sales'`;

function CreateConnection({ orgId, onCreated }: { orgId: string; onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('cloud');
  const [conn, setConn] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [progress, setProgress] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [agentToken, setAgentToken] = useState<string | null>(null);
  const { busy, error, setError, act } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    if (mode === 'agent') {
      const r = await act(() =>
        api<Connection & { agentToken?: string }>('POST', orgPath(orgId, '/connections'), {
          name: name.trim(),
          mode: 'agent',
        }),
      );
      if (r) {
        setAgentToken(r.agentToken ?? null);
        setName('');
        await onCreated();
      }
      return;
    }
    const problem = connectionStringProblem(conn);
    if (problem) {
      setError(problem);
      return;
    }
    if (!apiKey.trim().startsWith('rk_')) {
      setError('The API key starts with rk_live_ (or rk_test_): create one on the API keys page.');
      return;
    }
    // Both secrets leave React state before any network call; only local variables hold them while sealing.
    const plaintext = conn.trim();
    const key = apiKey.trim();
    setConn('');
    setApiKey('');
    const r = await act(async () => {
      setProgress('Deriving the encryption key from your API key (PBKDF2, 600,000 rounds)…');
      const sealed = await sealConnection(key, plaintext);
      setProgress('Sending the sealed envelope (ciphertext only)…');
      return api<Connection>('POST', orgPath(orgId, '/connections'), {
        name: name.trim(),
        mode: 'cloud',
        sealed,
      });
    }).finally(() => setProgress(null));
    if (r) {
      setDone(
        `“${r.name}” is registered. The server stored only ciphertext; queries must present the same API key.`,
      );
      setName('');
      await onCreated();
    }
  };

  return (
    <section aria-labelledby="new-connection">
      <h2 id="new-connection">Add a connection</h2>
      {agentToken ? (
        <>
          <RevealOnce title="Your agent token" value={agentToken} onDone={() => setAgentToken(null)} />
          <div className="panel">
            <h3>Start the agent inside your network</h3>
            <p>
              It connects out to Rampart; Rampart never sees the database URL. (Set RAMPART_AGENT_TOKEN
              instead of --token to keep the token out of the process list.)
            </p>
            <pre className="secret wrap" data-testid="agent-command">
              {agentCommand(location.origin, agentToken)}
            </pre>
            <CopyButton text={agentCommand(location.origin, agentToken)} label="Copy command" />
          </div>
        </>
      ) : null}
      <form onSubmit={submit} className="panel" aria-label="Add a database connection">
        <fieldset disabled={busy}>
          <legend>Connection</legend>
          <div className="grid2">
            <Field
              label="Connection name"
              value={name}
              onChange={setName}
              required
              placeholder="sales replica"
            />
            <Select label="Mode" value={mode} onChange={setMode} options={MODES} />
          </div>
          {mode === 'cloud' ? (
            <>
              <p className="muted">
                The connection string is encrypted in this browser with a key derived from the API key below.
                Neither is sent to Rampart: only the sealed envelope is. Queries work only when they present
                that same API key.
              </p>
              <div className="grid2">
                <SecretField
                  label="Connection string"
                  value={conn}
                  onChange={setConn}
                  placeholder="postgres://reader:password@db.example.com:5432/sales"
                  hint="Use a role with SELECT grants only."
                />
                <SecretField
                  label="API key that will run queries"
                  value={apiKey}
                  onChange={setApiKey}
                  placeholder="rk_live_…"
                  hint="Used here to derive the key; never sent."
                />
              </div>
            </>
          ) : (
            <p className="muted">
              You get an agent token, shown once, to start <code>rampart agent</code> next to your database.
            </p>
          )}
        </fieldset>
        {progress ? (
          <p role="status" className="muted" data-testid="seal-progress">
            {progress}
          </p>
        ) : null}
        <OkNote message={done} />
        <ErrorNote error={error} />
        <Submit busy={busy}>{mode === 'cloud' ? 'Seal and add connection' : 'Add agent connection'}</Submit>
      </form>
    </section>
  );
}

// The key's creator and the key ("user 1a2b3c4d · key 5e6f7a8b"): an API key acts for the member who made it.
const who = (e: AuditRow) =>
  [
    e.userId ? actor({ userId: e.userId, apiKeyId: null }, '') : null,
    actor({ userId: null, apiKeyId: e.apiKeyId }, ''),
  ]
    .filter(Boolean)
    .join(' · ') || '—';
const client = (e: AuditRow) =>
  e.clientName
    ? `${e.clientName}${e.clientVersion ? ` ${e.clientVersion}` : ''}${e.clientVia ? ` (via ${e.clientVia})` : ''}`
    : '—';
// The stored values are already PII-redacted and cut to 256 characters; the cell shows their start.
const params = (e: AuditRow) => {
  if (!e.paramValues) return e.params ?? '—';
  const text = e.paramValues.map((v) => JSON.stringify(v)).join(', ');
  const shown = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  return (
    <span title={text}>
      {e.params ?? e.paramValues.length}
      {e.paramValues.length ? (
        <>
          : <code>{shown}</code>
        </>
      ) : null}
    </span>
  );
};

function QueryAudit({ orgId, connections }: { orgId: string; connections: Connection[] }) {
  // The newest page only (the server pages the log); the exports stream all of it.
  const state = useLoad(
    () =>
      api<{ entries: AuditRow[]; nextCursor: string | null }>(
        'GET',
        orgPath(orgId, '/query-audit?order=desc&limit=200'),
      ),
    [orgId],
  );
  const [error, setError] = useState<string | null>(null);
  const names = new Map(connections.map((c) => [c.id, c.name]));
  return (
    <section aria-labelledby="query-audit">
      <div className="page-head">
        <h2 id="query-audit">Query audit</h2>
        <ExportButtons
          path={(format) => orgPath(orgId, `/query-audit?format=${format}`)}
          filename={(format) => `query-audit-${orgId}.${format}`}
          onStart={() => setError(null)}
          onError={setError}
        >
          <button type="button" onClick={() => state.reload()}>
            Refresh
          </button>
        </ExportButtons>
      </div>
      <p className="muted">Every query attempt, from the hash-chained audit log. Rows are never recorded.</p>
      <ErrorNote error={error} />
      <Loaded state={state}>
        {({ entries: recent, nextCursor }) => {
          return recent.length === 0 ? (
            <Empty>No queries yet.</Empty>
          ) : (
            <>
              {nextCursor ? (
                <p className="small muted">Showing the newest {recent.length}; export for all.</p>
              ) : null}
              <Table
                testId="query-audit-table"
                caption="Query audit, newest first"
                columns={[
                  'When',
                  'Connection',
                  'Who',
                  'Client',
                  'Declared model',
                  'Tool',
                  'Params',
                  'Rows',
                  'Duration',
                  'Outcome',
                  'Query hash',
                ]}
              >
                {recent.map((e) => (
                  <tr key={e.seq}>
                    <td>{when(e.at)}</td>
                    <td>
                      {e.connectionId ? (names.get(e.connectionId) ?? e.connectionId.slice(0, 8)) : '—'}
                    </td>
                    <td>{who(e)}</td>
                    <td>{client(e)}</td>
                    <td>{e.declaredModel ?? '—'}</td>
                    <td>{e.tool ? <code>{e.tool}</code> : '—'}</td>
                    <td>{params(e)}</td>
                    <td>{e.rowCount ?? '—'}</td>
                    <td>{e.durationMs === null ? '—' : `${e.durationMs} ms`}</td>
                    <td>
                      {e.outcome ? (
                        <span className={`status status-${e.outcome === 'ok' ? 'ok' : 'failed'}`}>
                          {e.outcome}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>
                      <code title={e.queryHash ?? undefined}>
                        {e.queryHash ? e.queryHash.slice(0, 12) : '—'}
                      </code>
                    </td>
                  </tr>
                ))}
              </Table>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

export function Connections({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(
    () => api<{ connections: Connection[] }>('GET', orgPath(orgId, '/connections')),
    [orgId],
  );
  const manage = can(role, 'dbaccess.manage');
  const { error, act } = useAction();
  const remove = async (c: Connection) => {
    await act(() => api('DELETE', orgPath(orgId, `/connections/${c.id}`)));
    await state.reload();
  };
  return (
    <Page title="Database connections">
      <p className="muted">
        Let AI tools run read-only SELECTs on your databases, through the sandbox, with every query audited.
      </p>
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.connections}
        empty={<>No connections yet.{manage ? ' Add one below.' : ''}</>}
        testId="connections-table"
        caption="Database connections"
        columns={['Name', 'Mode', 'Connection id', 'Created', manage && 'Actions']}
        row={(c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td>{c.mode === 'cloud' ? 'cloud (sealed)' : 'agent'}</td>
            <td>
              <code>{c.id}</code> <CopyButton text={c.id} label="Copy id" />
            </td>
            <td>{when(c.createdAt)}</td>
            <DangerCell
              show={manage}
              onClick={() => remove(c)}
              label={`Delete connection ${c.name}`}
              confirm={`Delete the connection "${c.name}"? Queries and agents using it stop at once.`}
            >
              Delete
            </DangerCell>
          </tr>
        )}
      />
      {manage ? <CreateConnection orgId={orgId} onCreated={state.reload} /> : null}
      {can(role, 'audit.read') ? (
        <QueryAudit orgId={orgId} connections={state.data?.connections ?? []} />
      ) : null}
    </Page>
  );
}
