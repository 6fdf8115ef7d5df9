import type { ApiKeyListed, UsageGroup, UsageGroupBy, UsageReport } from '@rampart/server/api-types';
import { useState } from 'react';
import { api, orgPath } from '../api';
import { ExportButtons } from '../components/export-buttons';
import { can, type Role } from '../permissions';
import { Empty, ErrorNote, Loaded, Page, Select, Table, useLoad } from '../ui';

const HOUR = 3_600_000;
export const RANGES = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days' } as const;
export type Range = keyof typeof RANGES;
const RANGE_MS: Record<Range, number> = { '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, '30d': 30 * 24 * HOUR };

/** The query of a usage report over the last `range` (the server rounds the window out to whole hours). */
export const usageQuery = (range: Range, groupBy: UsageGroupBy, format?: 'csv') => {
  const q = new URLSearchParams({ from: new Date(Date.now() - RANGE_MS[range]).toISOString(), groupBy });
  if (format) q.set('format', format);
  return `/usage?${q.toString()}`;
};

const usage = (orgId: string, rest: string) => api<UsageReport>('GET', orgPath(orgId, rest));
const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
const ms = (n: number | null) => (n === null ? '—' : `${Math.round(n)} ms`);
const int = (n: number) => n.toLocaleString('en-US');

/** The first instant of this UTC month, as the usage API takes it. */
const monthStart = () => {
  const now = new Date();
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
};

/** The UTC days of [from, to), so a day without calls still gets its (empty) bar. */
function daysOf(r: UsageReport): Array<{ day: string; requests: number; spendUsd: number; errors: number }> {
  const byDay = new Map(r.groups.map((g) => [g.group, g]));
  const out = [];
  const end = new Date(r.to).getTime();
  for (let t = Math.floor(new Date(r.from).getTime() / (24 * HOUR)) * 24 * HOUR; t < end; t += 24 * HOUR) {
    const day = new Date(t).toISOString().slice(0, 10);
    const g = byDay.get(day);
    out.push({ day, requests: g?.requests ?? 0, spendUsd: g?.spendUsd ?? 0, errors: g?.errors ?? 0 });
  }
  return out;
}

/** Requests per UTC day as plain SVG bars, with a text alternative (the same numbers in a table follow). */
function DayChart({ report }: { report: UsageReport }) {
  const days = daysOf(report);
  const max = Math.max(1, ...days.map((d) => d.requests));
  const w = 640;
  const h = 160;
  const pad = 24;
  const bw = (w - pad) / Math.max(1, days.length);
  return (
    <figure data-testid="usage-chart">
      <svg
        className="chart"
        viewBox={`0 0 ${w} ${h + 20}`}
        role="img"
        aria-label={`Requests per day: ${days.map((d) => `${d.day} ${d.requests}`).join(', ')}`}
      >
        <line className="axis" x1={pad} y1={h} x2={w} y2={h} />
        <text className="tick" x={0} y={10}>
          {max}
        </text>
        {days.map((d, i) => {
          const bh = (d.requests / max) * (h - 10);
          return (
            <g key={d.day} data-testid={`usage-bar-${d.day}`} data-requests={d.requests}>
              <title>{`${d.day}: ${d.requests} requests, ${usd(d.spendUsd)}, ${d.errors} errors`}</title>
              <rect
                className={d.errors > 0 && d.errors === d.requests ? 'bar-failed' : 'bar-succeeded'}
                x={pad + i * bw + 1}
                y={h - bh}
                width={Math.max(1, bw - 2)}
                height={bh}
              />
              {days.length <= 10 || i % Math.ceil(days.length / 10) === 0 ? (
                <text className="tick" x={pad + i * bw + 1} y={h + 14}>
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="muted small">Requests per UTC day</figcaption>
    </figure>
  );
}

function GroupTable(props: { caption: string; first: string; testId: string; groups: UsageGroup[] }) {
  if (props.groups.length === 0) return <Empty>No gateway calls in this range.</Empty>;
  return (
    <Table
      testId={props.testId}
      caption={props.caption}
      columns={[
        props.first,
        'Requests',
        'Prompt tokens',
        'Completion tokens',
        'Spend',
        'Errors',
        'p50',
        'p95',
      ]}
    >
      {props.groups.map((g) => (
        <tr key={g.group ?? '(none)'} data-testid={`${props.testId}-row`}>
          <td>{g.name ?? g.group ?? '(none)'}</td>
          <td data-testid="requests">{int(g.requests)}</td>
          <td>{int(g.promptTokens)}</td>
          <td>{int(g.completionTokens)}</td>
          <td>{usd(g.spendUsd)}</td>
          <td>{int(g.errors)}</td>
          <td>{ms(g.p50Ms)}</td>
          <td>{ms(g.p95Ms)}</td>
        </tr>
      ))}
    </Table>
  );
}

/** This UTC month's spend of each key that has a monthly budget, as a bar against the budget. */
function BudgetBars({ keys, month }: { keys: ApiKeyListed[]; month: UsageReport }) {
  const spent = new Map(month.groups.map((g) => [g.group, g.spendUsd]));
  const budgeted = keys.filter((k) => k.monthlyBudgetUsd != null);
  if (budgeted.length === 0)
    return <Empty>No API key has a monthly budget (set one on the API keys page).</Empty>;
  return (
    <ul className="budgets" data-testid="budget-bars">
      {budgeted.map((k) => {
        const budget = k.monthlyBudgetUsd ?? 0;
        const used = spent.get(k.id) ?? 0;
        const id = `budget-${k.id}`;
        return (
          <li key={k.id} data-testid="budget-bar">
            <span id={id}>
              {k.name}: {usd(used)} of {usd(budget)} this month
            </span>
            <progress
              className="bar"
              aria-labelledby={id}
              max={budget > 0 ? budget : 1}
              value={budget > 0 ? Math.min(used, budget) : 1}
              data-over={used >= budget ? 'true' : undefined}
            />
          </li>
        );
      })}
    </ul>
  );
}

/** Gateway usage: requests per day, by key and by model, budgets per key, and a CSV export. */
export function Usage({ orgId, role }: { orgId: string; role: Role }) {
  const [range, setRange] = useState<Range>('7d');
  const [error, setError] = useState<string | null>(null);
  const readsKeys = can(role, 'apikeys.read');
  const state = useLoad(async () => {
    const [day, key, model] = await Promise.all([
      usage(orgId, usageQuery(range, 'day')),
      usage(orgId, usageQuery(range, 'key')),
      usage(orgId, usageQuery(range, 'model')),
    ]);
    return { day, key, model };
  }, [orgId, range]);
  // Budgets are per UTC month whatever the range; a role that cannot list keys does not see them.
  const budgets = useLoad(async () => {
    if (!readsKeys) return null;
    const [month, keys] = await Promise.all([
      usage(
        orgId,
        // `to` an hour ahead: at 00:00 UTC on the 1st, "now" rounds to the month's start and the window would be empty.
        `/usage?${new URLSearchParams({ from: monthStart(), to: new Date(Date.now() + 3_600_000).toISOString(), groupBy: 'key' })}`,
      ),
      api<{ keys: ApiKeyListed[] }>('GET', orgPath(orgId, '/api-keys')),
    ]);
    return { month, keys: keys.keys };
  }, [orgId, readsKeys]);

  return (
    <Page
      title="Usage"
      actions={
        <ExportButtons
          formats={['csv']}
          path={() => orgPath(orgId, usageQuery(range, 'key', 'csv'))}
          filename={() => `usage-${range}.csv`}
          onError={setError}
          onStart={() => setError(null)}
        >
          <Select<Range>
            label="Range"
            value={range}
            onChange={setRange}
            options={Object.entries(RANGES) as Array<[Range, string]>}
          />
        </ExportButtons>
      }
    >
      <ErrorNote error={error} />
      <Loaded state={state}>
        {({ day, key, model }) => (
          <>
            <p data-testid="usage-totals">
              {int(day.totals.requests)} requests, {usd(day.totals.spendUsd)} spent, {int(day.totals.errors)}{' '}
              errors ({RANGES[range].toLowerCase()}).
            </p>
            <DayChart report={day} />
            <h2>By API key</h2>
            <GroupTable
              caption="Usage by API key"
              first="API key"
              testId="usage-by-key"
              groups={key.groups}
            />
            <h2>By model</h2>
            <GroupTable
              caption="Usage by model"
              first="Model"
              testId="usage-by-model"
              groups={model.groups}
            />
          </>
        )}
      </Loaded>
      {readsKeys ? (
        <>
          <h2>Monthly budgets</h2>
          <Loaded state={budgets}>{(b) => (b ? <BudgetBars keys={b.keys} month={b.month} /> : null)}</Loaded>
        </>
      ) : null}
    </Page>
  );
}

/**
 * "Gateway, last 24 hours" on the landing page: one totals call, shown only when the org has calls in the
 * window (an org that does not use the gateway sees nothing).
 */
export function GatewaySummary({ orgId }: { orgId: string }) {
  const state = useLoad(() => usage(orgId, usageQuery('24h', 'day')), [orgId]);
  const t = state.data?.totals;
  if (!t || t.requests === 0) return null;
  return (
    <section className="panel" aria-labelledby="gw-24h" data-testid="gateway-summary">
      <h2 id="gw-24h">Gateway, last 24 hours</h2>
      <p>
        <span data-testid="summary-requests">{int(t.requests)}</span> requests,{' '}
        <span data-testid="summary-spend">{usd(t.spendUsd)}</span> spent,{' '}
        <span data-testid="summary-errors">{int(t.errors)}</span> errors.
      </p>
    </section>
  );
}
