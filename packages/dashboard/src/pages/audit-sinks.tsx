import type { AuditSink } from '@rampart/server/api-types';
import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../api';
import { Submit } from '../components/fields';
import { DangerCell, ListTable } from '../components/list-table';
import { ErrorNote, Field, NumberField, RevealOnce, Select, TextArea, useAction, useLoad, when } from '../ui';

const KINDS = [
  ['https', 'HTTPS (signed NDJSON)'],
  ['syslog', 'Syslog over TLS'],
] as const;
type Kind = (typeof KINDS)[number][0];

const destination = (s: AuditSink): string =>
  s.kind === 'https'
    ? String(s.config.url ?? '')
    : `${String(s.config.host ?? '')}:${String(s.config.port ?? '')}`;

/**
 * Where the org's audit log streams to (owners and admins): add an HTTPS or syslog sink, see how far behind
 * each one is and why, delete one. The https signing secret is shown once, when the server generated it.
 */
export function AuditSinks({ orgId }: { orgId: string }) {
  const state = useLoad(() => api<{ sinks: AuditSink[] }>('GET', orgPath(orgId, '/audit-sinks')), [orgId]);
  const [kind, setKind] = useState<Kind>('https');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [host, setHost] = useState('');
  const [port, setPort] = useState('6514');
  const [clientCert, setClientCert] = useState('');
  const [clientKey, setClientKey] = useState('');
  const [revealed, setRevealed] = useState<string | null>(null);
  const { busy, error, act } = useAction();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const config =
      kind === 'https'
        ? { url: url.trim(), ...(secret ? { secret } : {}) }
        : {
            host: host.trim(),
            ...(port ? { port: Number(port) } : {}),
            ...(clientCert.trim() || clientKey.trim() ? { clientCert, clientKey } : {}),
          };
    const r = await act(() =>
      api<AuditSink & { secret?: string }>('POST', orgPath(orgId, '/audit-sinks'), { kind, name, config }),
    );
    // Secret fields are typed once: cleared whatever happened.
    setSecret('');
    setClientKey('');
    if (r) {
      setClientCert('');
      if (r.secret) setRevealed(r.secret);
      setName('');
      setUrl('');
      setHost('');
      await state.reload();
    }
  };
  const remove = async (s: AuditSink) => {
    await act(() => api('DELETE', orgPath(orgId, `/audit-sinks/${s.id}`)));
    await state.reload();
  };

  return (
    <section aria-labelledby="sinks-title">
      <h2 id="sinks-title">Audit sinks</h2>
      <p className="muted">
        Stream this log to your SIEM, in order, with the chain hash so it can check nothing is missing.
      </p>
      {revealed ? (
        <RevealOnce title="The sink's signing secret" value={revealed} onDone={() => setRevealed(null)} />
      ) : null}
      <form onSubmit={create} className="inline" aria-label="Add an audit sink">
        <Select label="Sink kind" value={kind} onChange={setKind} options={KINDS} />
        <Field label="Sink name" value={name} onChange={setName} required placeholder="SIEM" />
        {kind === 'https' ? (
          <>
            <Field
              label="Endpoint URL"
              type="url"
              value={url}
              onChange={setUrl}
              required
              placeholder="https://siem.example.com/rampart"
            />
            <Field
              label="Signing secret (optional)"
              type="password"
              value={secret}
              onChange={setSecret}
              autoComplete="off"
              placeholder="whsec_…"
              hint="Leave empty and one is generated and shown once."
            />
          </>
        ) : (
          <>
            <Field
              label="Syslog host"
              value={host}
              onChange={setHost}
              required
              placeholder="syslog.example.com"
            />
            <NumberField label="Port" value={port} onChange={setPort} />
            <TextArea
              label="Client certificate (optional, PEM)"
              value={clientCert}
              onChange={setClientCert}
              spellCheck={false}
              hint="For receivers that authenticate senders; shown afterwards by its fingerprint."
            />
            <TextArea
              label="Client private key (optional, PEM)"
              value={clientKey}
              onChange={setClientKey}
              spellCheck={false}
              hint="Sealed, never shown again."
            />
          </>
        )}
        <Submit busy={busy}>Add sink</Submit>
      </form>
      <ErrorNote error={error} />
      <ListTable
        state={state}
        items={(d) => d.sinks}
        empty={<>No audit sinks.</>}
        testId="sinks-table"
        caption="Audit sinks"
        columns={['Name', 'Kind', 'Destination', 'Behind', 'Last delivery', 'Last error', 'Actions']}
        row={(s) => (
          <tr key={s.id}>
            <td>{s.name}</td>
            <td>{s.kind}</td>
            <td>
              <code className="meta">{destination(s)}</code>
            </td>
            <td data-testid="sink-lag">
              {s.status.lag} {s.status.lag === 1 ? 'entry' : 'entries'}
            </td>
            <td>{when(s.status.lastSuccessAt)}</td>
            <td className={s.status.attempts > 0 ? 'error' : undefined}>
              {s.status.lastError ? `${s.status.lastError} (${when(s.status.lastErrorAt)})` : '—'}
            </td>
            <DangerCell
              show
              confirm={`Delete the audit sink "${s.name}"? Delivery to it stops.`}
              onClick={() => remove(s)}
              label={`Delete sink ${s.name}`}
            >
              Delete
            </DangerCell>
          </tr>
        )}
      />
    </section>
  );
}
