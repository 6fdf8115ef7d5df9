import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../../api';
import { Submit } from '../../components/fields';
import { ListTable } from '../../components/list-table';
import {
  Check,
  ErrorNote,
  Field,
  Loaded,
  OkNote,
  Page,
  Select,
  TextArea,
  useAction,
  useLoad,
  when,
} from '../../ui';
import {
  type AdminOrgList,
  adminPath,
  count,
  type Notice,
  type NoticeDetail,
  type NoticeStatus,
} from './model';

/** How often the list refreshes while mails are still queued (each listing is audited). */
const REFRESH_MS = 5000;

const statusLine = (s: NoticeStatus) =>
  `${s.sent} sent · ${s.queued} queued · ${s.failed} failed${s.expired ? ` · ${s.expired} expired` : ''}`;

/**
 * Incident notices: compose (every org or chosen ones, subject, body, then a confirmation step that says how
 * many orgs), and the notices sent with their delivery status, refreshing while mails are queued.
 */
export function OperatorNotices() {
  const list = useLoad(() => api<{ notices: Notice[] }>('GET', adminPath('notices')), []);
  const [open, setOpen] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const queued = (list.data?.notices ?? []).some((n) => n.status.queued > 0);
  const { reload } = list;
  const openNotice = list.data?.notices.find((n) => n.noticeId === open);

  useEffect(() => {
    if (!queued) return;
    const t = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(t);
  }, [queued, reload]);

  return (
    <Page title="Incident notices">
      <Compose
        onSent={async (r) => {
          setSent(
            `Notice queued for ${count(r.recipients, 'recipient')} in ${count(r.orgs, 'organization')}.`,
          );
          setOpen(r.noticeId);
          await reload();
        }}
      />
      <OkNote message={sent} />
      <h2>Sent notices</h2>
      <ListTable
        state={list}
        items={(d: { notices: Notice[] }) => d.notices}
        empty="No notices sent yet."
        caption="Sent notices"
        testId="notices"
        columns={['Subject', 'Sent', 'By', 'Organizations', 'Recipients', 'Delivery', 'Details']}
        row={(n) => (
          <tr key={n.noticeId} aria-current={n.noticeId === open ? 'true' : undefined}>
            <td>{n.subject}</td>
            <td>{when(n.createdAt)}</td>
            <td>{n.createdByEmail ?? '—'}</td>
            <td>{n.allOrgs ? `all (${n.orgs})` : n.orgs}</td>
            <td>{n.recipients}</td>
            <td data-testid="notice-status">
              <span
                className={`status ${
                  n.status.queued > 0
                    ? 'status-queued'
                    : n.status.failed + n.status.expired > 0
                      ? 'status-failed'
                      : 'status-ok'
                }`}
              >
                {n.status.queued > 0
                  ? 'delivering'
                  : n.status.failed + n.status.expired > 0
                    ? 'not all delivered'
                    : 'delivered'}
              </span>{' '}
              {statusLine(n.status)}
            </td>
            <td>
              <button
                type="button"
                className="link"
                onClick={() => setOpen(n.noticeId === open ? null : n.noticeId)}
                aria-expanded={n.noticeId === open}
                aria-label={`Delivery by organization of “${n.subject}”`}
              >
                {n.noticeId === open ? 'Hide' : 'By organization'}
              </button>
            </td>
          </tr>
        )}
      />
      {openNotice ? (
        // Reloaded when the list shows its delivery moving (each read of a notice is audited: no polling here).
        <NoticeOrgs
          key={`${openNotice.noticeId}-${statusLine(openNotice.status)}`}
          noticeId={openNotice.noticeId}
        />
      ) : null}
    </Page>
  );
}

function NoticeOrgs({ noticeId }: { noticeId: string }) {
  const state = useLoad(
    () => api<{ notice: NoticeDetail }>('GET', adminPath('notices', noticeId)),
    [noticeId],
  );
  return (
    <section className="panel" aria-labelledby="notice-orgs-title">
      <Loaded state={state}>
        {({ notice }) => (
          <>
            <h3 id="notice-orgs-title">“{notice.subject}” by organization</h3>
            <pre className="wrap" data-testid="notice-body">
              {notice.body}
            </pre>
            <ListTable
              state={state}
              items={(d: { notice: NoticeDetail }) => d.notice.perOrg}
              empty="No organizations."
              caption={`Delivery of “${notice.subject}” by organization`}
              testId="notice-orgs"
              columns={['Organization', 'Recipients', 'Sent', 'Queued', 'Failed']}
              row={(o) => (
                <tr key={o.orgId}>
                  <td>{o.name}</td>
                  <td>{o.recipients}</td>
                  <td>{o.sent}</td>
                  <td>{o.queued}</td>
                  <td>{o.failed}</td>
                </tr>
              )}
            />
          </>
        )}
      </Loaded>
    </section>
  );
}

type Audience = 'all' | 'chosen';

function Compose({
  onSent,
}: {
  onSent: (r: { noticeId: string; orgs: number; recipients: number }) => Promise<void>;
}) {
  const [audience, setAudience] = useState<Audience>('chosen');
  const [filter, setFilter] = useState('');
  const [q, setQ] = useState('');
  const [chosen, setChosen] = useState<Map<string, string>>(new Map());
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [confirming, setConfirming] = useState(false);
  const { busy, error, act } = useAction();
  const orgs = useLoad(() => {
    const p = new URLSearchParams({ limit: '50' });
    if (q) p.set('q', q);
    return api<AdminOrgList>('GET', `${adminPath('orgs')}?${p}`);
  }, [q]);

  // Wait for a pause in typing before searching (each search is an audited listing).
  useEffect(() => {
    const t = setTimeout(() => setQ(filter.trim()), 400);
    return () => clearTimeout(t);
  }, [filter]);

  const toggle = (orgId: string, name: string, on: boolean) =>
    setChosen((cur) => {
      const next = new Map(cur);
      if (on) next.set(orgId, name);
      else next.delete(orgId);
      return next;
    });
  const ready =
    subject.trim().length > 0 &&
    subject.length <= 200 &&
    body.trim().length > 0 &&
    body.length <= 20000 &&
    (audience === 'all' || chosen.size > 0);
  const who =
    audience === 'all'
      ? 'every organization (owners and admins)'
      : `${count(chosen.size, 'organization')} (owners and admins): ${[...chosen.values()].join(', ')}`;

  const review = (e: FormEvent) => {
    e.preventDefault();
    if (ready) setConfirming(true);
  };
  const send = async () => {
    const r = await act(() =>
      api<{ noticeId: string; orgs: number; recipients: number }>('POST', adminPath('notices'), {
        orgIds: audience === 'all' ? 'all' : [...chosen.keys()],
        subject,
        body,
      }),
    );
    setConfirming(false);
    if (r) {
      setSubject('');
      setBody('');
      setChosen(new Map());
      await onSent(r);
    }
  };

  return (
    <form onSubmit={review} aria-label="Compose a notice" className="panel">
      <h2>Compose a notice</h2>
      <fieldset disabled={confirming || busy}>
        <legend className="sr-only">Notice</legend>
        <Select<Audience>
          label="Send to"
          value={audience}
          onChange={setAudience}
          options={[
            ['chosen', 'Chosen organizations'],
            ['all', 'All organizations'],
          ]}
        />
        {audience === 'chosen' ? (
          <fieldset className="org-picker">
            <legend>Organizations ({chosen.size} chosen)</legend>
            <Field
              label="Find organizations"
              type="search"
              value={filter}
              onChange={setFilter}
              placeholder="name, org id or member e-mail"
            />
            {[...chosen].map(([id, name]) => (
              <Check key={id} label={name} checked onChange={(on) => toggle(id, name, on)} />
            ))}
            <Loaded state={orgs}>
              {({ orgs: found }) => (
                <>
                  {found
                    .filter((o) => !chosen.has(o.orgId))
                    .map((o) => (
                      <Check
                        key={o.orgId}
                        label={o.name}
                        hint={o.orgId}
                        checked={false}
                        onChange={(on) => toggle(o.orgId, o.name, on)}
                      />
                    ))}
                </>
              )}
            </Loaded>
          </fieldset>
        ) : null}
        <Field label="Subject" value={subject} onChange={setSubject} required />
        <TextArea
          label="Message"
          value={body}
          onChange={setBody}
          rows={8}
          required
          hint="Plain text, mailed as written to every owner and admin of the chosen organizations."
        />
        <Submit disabled={!ready}>Review notice</Submit>
      </fieldset>
      {confirming ? (
        <div className="panel" role="alertdialog" aria-labelledby="notice-confirm" aria-modal="false">
          <p id="notice-confirm">
            <strong>
              Send “{subject}” to {who}?
            </strong>{' '}
            Mails go out through the outbox at once and cannot be recalled.
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={send} disabled={busy}>
              Send notice
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
              Back to editing
            </button>
          </div>
        </div>
      ) : null}
      <ErrorNote error={error} />
    </form>
  );
}
