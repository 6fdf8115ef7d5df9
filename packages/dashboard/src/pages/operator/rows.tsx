import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../api';
import { AuditCells, describe, Empty, ErrorNote, Table, when } from '../../ui';
import type { AuditPage, AuditRow } from './model';

/** A field name as a column heading: `lastUsedAt` → "Last used at". */
export const heading = (key: string) => {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** One value of a row as text: times in local time, yes/no, nested values as compact JSON. */
export function cell(key: string, v: unknown): ReactNode {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string' && /At$/.test(key)) return when(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return <code className="meta">{JSON.stringify(v)}</code>;
  return String(v);
}

/** The array of a list answer: under `key` when the route names it so, else the first array it holds. */
export function listOf(data: unknown, key: string): Array<Record<string, unknown>> {
  if (Array.isArray(data)) return data as Array<Record<string, unknown>>;
  if (!data || typeof data !== 'object') return [];
  const o = data as Record<string, unknown>;
  const named = o[key];
  if (Array.isArray(named)) return named as Array<Record<string, unknown>>;
  const first = Object.values(o).find(Array.isArray);
  return (first ?? []) as Array<Record<string, unknown>>;
}

/**
 * A read-only table of whatever rows a route returns: one column per field (in the order of the first row, then
 * any others), plus an optional actions cell per row.
 */
export function RowsTable(props: {
  rows: Array<Record<string, unknown>>;
  caption: string;
  testId: string;
  empty: ReactNode;
  rowKey: (r: Record<string, unknown>, i: number) => string;
  actions?: ((r: Record<string, unknown>) => ReactNode) | undefined;
}) {
  if (props.rows.length === 0) return <Empty>{props.empty}</Empty>;
  const keys: string[] = [];
  for (const r of props.rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return (
    <div className="scroll-x">
      <Table
        caption={props.caption}
        testId={props.testId}
        className="compact"
        columns={[...keys.map(heading), props.actions !== undefined && 'Actions']}
      >
        {props.rows.map((r, i) => (
          <tr key={props.rowKey(r, i)}>
            {keys.map((k) => (
              <td key={k}>{cell(k, r[k])}</td>
            ))}
            {props.actions ? <td>{props.actions(r)}</td> : null}
          </tr>
        ))}
      </Table>
    </div>
  );
}

/**
 * An audit chain, newest first, 50 rows at a time with "Show older" (`?before=` the cursor the route returns,
 * else the oldest row's sequence number). `path` is the route; `version` reloads from the top when it changes.
 */
export function AuditRows({ path, testId, version = 0 }: { path: string; testId: string; version?: number }) {
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const gen = useRef(0);

  const load = useCallback(
    async (before: string | null) => {
      const mine = ++gen.current;
      setLoading(true);
      try {
        const q = new URLSearchParams({ limit: '50' });
        if (before) q.set('before', before);
        const page = await api<AuditPage>('GET', `${path}?${q}`);
        if (mine !== gen.current) return;
        setRows((prev) => (before ? [...prev, ...page.entries] : page.entries));
        setCursor(page.nextCursor);
        setDone(page.nextCursor === null);
        setError(null);
      } catch (err) {
        if (mine === gen.current) setError(describe(err));
      } finally {
        if (mine === gen.current) setLoading(false);
      }
    },
    [path],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new version reloads from the newest row
  useEffect(() => {
    void load(null);
  }, [load, version]);

  return (
    <>
      <ErrorNote error={error} />
      {rows.length === 0 && !loading && !error ? (
        <Empty>No audit entries.</Empty>
      ) : (
        <Table
          testId={testId}
          caption="Audit entries"
          columns={['Seq', 'When', 'Action', 'Target', 'Who', 'IP', 'Details']}
        >
          {rows.map((e) => (
            <tr key={e.id}>
              <td>{e.seq}</td>
              <AuditCells e={e} />
            </tr>
          ))}
        </Table>
      )}
      {loading ? (
        <p className="muted" aria-live="polite">
          Loading…
        </p>
      ) : !done ? (
        <button type="button" onClick={() => void load(cursor)}>
          Show older
        </button>
      ) : null}
    </>
  );
}
