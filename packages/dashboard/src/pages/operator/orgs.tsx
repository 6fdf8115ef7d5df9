import { type FormEvent, useState } from 'react';
import { api } from '../../api';
import { ListTable } from '../../components/list-table';
import { Link } from '../../router';
import { Field, Page, useLoad, when } from '../../ui';
import { type AdminOrg, type AdminOrgList, adminPath, count } from './model';

const PAGE = 50;

/** "Suspended" as a badge beside an org's name (the org's keys, widgets and jobs answer 403 meanwhile). */
export function SuspendedBadge({ org }: { org: Pick<AdminOrg, 'suspended'> }) {
  return org.suspended ? (
    <span className="status status-refused" data-testid="suspended-badge">
      Suspended
    </span>
  ) : null;
}

/** jobs, widgets, connections and API keys, in one short line. */
export const usageLine = ({ usage: u }: AdminOrg) =>
  [
    count(u.jobs, 'job'),
    count(u.widgets, 'widget'),
    count(u.connections, 'connection'),
    count(u.apiKeys, 'API key'),
  ].join(' · ');

/** Every org on the platform: search by name, org id or a member's e-mail; one page of 50 at a time. */
export function OperatorOrgs() {
  const [draft, setDraft] = useState('');
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const state = useLoad(() => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (q) params.set('q', q);
    return api<AdminOrgList>('GET', `${adminPath('orgs')}?${params}`);
  }, [q, offset]);
  const total = state.data?.total;
  const shown = state.data?.orgs.length ?? 0;

  const search = (e: FormEvent) => {
    e.preventDefault();
    setOffset(0);
    setQ(draft.trim());
  };

  return (
    <Page title="Organizations">
      <form onSubmit={search} className="inline" aria-label="Search organizations">
        <Field
          label="Search"
          type="search"
          value={draft}
          onChange={setDraft}
          placeholder="name, org id or member e-mail"
        />
        <button type="submit">Search</button>
      </form>
      <ListTable
        state={state}
        items={(d: AdminOrgList) => d.orgs}
        empty={q ? `No organization matches “${q}”.` : 'No organizations yet.'}
        caption="Organizations"
        testId="operator-orgs"
        columns={['Name', 'Plan', 'Members', 'Usage', 'Last activity', 'Created', 'Region']}
        row={(o) => (
          <tr key={o.orgId}>
            <td>
              <Link to={`/operator/orgs/${o.orgId}`}>{o.name}</Link> <SuspendedBadge org={o} />
            </td>
            <td className="plan">{o.plan}</td>
            <td>{o.members}</td>
            <td className="small">{usageLine(o)}</td>
            <td>{o.lastActivityAt ? when(o.lastActivityAt) : 'never'}</td>
            <td>{when(o.createdAt)}</td>
            <td>{o.region}</td>
          </tr>
        )}
      />
      {state.data ? (
        <div className="row">
          <p className="muted small" role="status">
            {shown === 0 ? '' : `Showing ${offset + 1}–${offset + shown} of ${total}.`}
          </p>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous page
          </button>
          <button
            type="button"
            disabled={total === undefined || offset + shown >= total}
            onClick={() => setOffset(offset + PAGE)}
          >
            Next page
          </button>
        </div>
      ) : null}
    </Page>
  );
}
