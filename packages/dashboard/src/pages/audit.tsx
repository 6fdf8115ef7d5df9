import type { AuditEntry } from '@rampart/server/api-types';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, orgPath } from '../api';
import { ExportButtons } from '../components/export-buttons';
import { can, type Role } from '../permissions';
import { AuditCells, describe, Empty, ErrorNote, Field, Page, Table, useLoad } from '../ui';
import { AuditSinks } from './audit-sinks';

type Entry = AuditEntry;
interface Filters {
  action: string;
  since: string;
  until: string;
}

const query = (f: Filters, extra: Record<string, string> = {}) => {
  const q = new URLSearchParams();
  if (f.action) q.set('action', f.action);
  if (f.since) q.set('since', new Date(f.since).toISOString());
  if (f.until) q.set('until', new Date(f.until).toISOString());
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

/** The audit log: filters, infinite scroll, exports, and whether the hash chain still verifies. */
export function Audit({ orgId, role }: { orgId: string; role: Role }) {
  const [draft, setDraft] = useState<Filters>({ action: '', since: '', until: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /**
   * Paging state lives in a ref, not in React state: an IntersectionObserver callback from an earlier render
   * must see where paging is now. `gen` numbers each filter set, so a page that answers after the filters
   * changed is dropped instead of being appended to (or shown as) the new list.
   */
  const paging = useRef({ gen: 0, cursor: null as string | null, done: false, loading: false });
  const sentinel = useRef<HTMLDivElement>(null);
  const verify = useLoad(
    () => api<{ ok: boolean; count: number }>('GET', orgPath(orgId, '/audit/verify')),
    [orgId],
  );

  const more = useCallback(
    async (reset: boolean) => {
      const p = paging.current;
      if (reset) {
        p.gen++;
        p.cursor = null;
        p.done = false;
        p.loading = false;
      } else if (p.loading || p.done || p.cursor === null) {
        // Already loading, at the end, or the first page is not in yet (a second "first page" would repeat it).
        return;
      }
      const gen = p.gen;
      p.loading = true;
      try {
        const page = await api<{ entries: Entry[]; nextCursor: string | null }>(
          'GET',
          orgPath(
            orgId,
            `/audit${query(filters, { limit: '50', ...(p.cursor ? { cursor: p.cursor } : {}) })}`,
          ),
        );
        if (gen !== p.gen) return;
        p.cursor = page.nextCursor;
        p.done = page.nextCursor === null;
        setEntries((prev) => (reset ? page.entries : [...prev, ...page.entries]));
        setDone(p.done);
        setError(null);
      } catch (err) {
        if (gen !== p.gen) return;
        p.done = true;
        setError(describe(err));
        setDone(true);
      } finally {
        if (gen === p.gen) p.loading = false;
      }
    },
    [orgId, filters],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter set or org starts from the top
  useEffect(() => {
    setEntries([]);
    setDone(false);
    void more(true);
  }, [orgId, filters]);

  useEffect(() => {
    const el = sentinel.current;
    if (!el || done) return;
    const io = new IntersectionObserver((seen) => {
      if (seen.some((e) => e.isIntersecting)) void more(false);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [more, done]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };

  return (
    <Page
      title="Audit log"
      actions={
        <ExportButtons
          path={(format) => orgPath(orgId, `/audit${query(filters, { format })}`)}
          filename={(format) => `audit-${orgId}.${format}`}
          onError={setError}
        />
      }
    >
      <p role="status" data-testid="chain-status" className={verify.data?.ok === false ? 'error' : 'ok'}>
        {verify.data
          ? verify.data.ok
            ? `Hash chain verified: ${verify.data.count} entries, no tampering found.`
            : 'Hash chain verification FAILED: entries were edited or removed.'
          : verify.error
            ? describe(verify.error)
            : 'Verifying the hash chain…'}
      </p>
      <form onSubmit={apply} className="inline" aria-label="Filter the audit log">
        <Field
          label="Action"
          value={draft.action}
          onChange={(action) => setDraft({ ...draft, action })}
          placeholder="api_key.created"
        />
        <Field
          label="Since"
          type="datetime-local"
          value={draft.since}
          onChange={(since) => setDraft({ ...draft, since })}
        />
        <Field
          label="Until"
          type="datetime-local"
          value={draft.until}
          onChange={(until) => setDraft({ ...draft, until })}
        />
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={error} />
      {entries.length === 0 && done && !error ? (
        <Empty>No audit entries match.</Empty>
      ) : (
        <Table
          testId="audit-table"
          caption="Audit entries"
          columns={['When', 'Action', 'Target', 'Who', 'IP', 'Details']}
        >
          {entries.map((e) => (
            <tr key={e.id}>
              <AuditCells e={e} />
            </tr>
          ))}
        </Table>
      )}
      <div ref={sentinel} aria-hidden="true" className="sentinel" />
      {!done ? <p className="muted">Loading more…</p> : null}
      {can(role, 'audit.sinks') ? <AuditSinks orgId={orgId} /> : null}
    </Page>
  );
}
