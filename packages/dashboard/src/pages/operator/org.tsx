import { useState } from 'react';
import { api } from '../../api';
import { ListTable } from '../../components/list-table';
import { Link } from '../../router';
import { Loaded, OkNote, Page, Table, useLoad, when } from '../../ui';
import {
  type AdminCredential,
  type AdminInvitation,
  type AdminMember,
  type AdminOrg,
  adminPath,
  CREDENTIAL_KINDS,
} from './model';
import { SuspendedBadge, usageLine } from './orgs';
import { ReasonDialog } from './reason-dialog';
import { AuditRows, listOf, RowsTable } from './rows';

/** The read-only tabs of one org, in order; each is `GET /api/admin/orgs/:orgId/<path>`. */
export const ORG_TABS = [
  ['members', 'Members'],
  ['jobs', 'Jobs'],
  ['runs', 'Runs'],
  ['widgets', 'Widgets'],
  ['connections', 'Connections'],
  ['credentials', 'Credentials'],
  ['invitations', 'Invitations'],
  ['audit', 'Audit'],
] as const;
export type OrgTab = (typeof ORG_TABS)[number][0];
export const isOrgTab = (t: string | undefined): t is OrgTab => ORG_TABS.some(([p]) => p === t);

/** A support action waiting for its reason in the dialog. */
interface Pending {
  title: string;
  action: string;
  what: string;
  danger: boolean;
  path: string;
  done: string;
}

/**
 * One org, as support sees it: a summary, its data tab by tab (each opening is audited in the org's own chain by
 * the server), and the support actions, each asking for a reason.
 */
export function OperatorOrg({ orgId, tab }: { orgId: string; tab: OrgTab }) {
  const summary = useLoad(() => api<{ org: AdminOrg }>('GET', adminPath('orgs', orgId)), [orgId]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // Bumped after an action, so the summary and the open tab show what it changed.
  const [version, setVersion] = useState(0);
  const ask = (p: Pending) => {
    setDone(null);
    setPending(p);
  };
  const org = summary.data?.org;
  const base = `/operator/orgs/${orgId}`;

  return (
    <Page
      title={org ? `Organization: ${org.name}` : 'Organization'}
      actions={<Link to="/operator/orgs">All organizations</Link>}
    >
      <Loaded state={summary}>
        {({ org: o }) => (
          <>
            {o.suspended ? (
              <div className="banner" role="status" data-testid="org-suspended">
                <p>
                  <strong>Suspended</strong> since {when(o.suspendedAt)}
                  {o.suspendedReason ? `: ${o.suspendedReason}` : ''}. Its API keys, runtime tokens, CLI
                  credentials, widgets and jobs are refused with <code>org_suspended</code>.
                </p>
              </div>
            ) : null}
            <dl className="facts" data-testid="org-summary">
              <dt>Org id</dt>
              <dd>
                <code>{o.orgId}</code>
              </dd>
              <dt>Status</dt>
              <dd>
                {o.suspended ? <SuspendedBadge org={o} /> : <span className="status status-ok">Active</span>}
              </dd>
              <dt>Plan</dt>
              <dd className="plan">{o.plan}</dd>
              <dt>Region</dt>
              <dd>{o.region}</dd>
              <dt>Members</dt>
              <dd>{o.members}</dd>
              <dt>Usage</dt>
              <dd>{usageLine(o)}</dd>
              <dt>Last activity</dt>
              <dd>{o.lastActivityAt ? when(o.lastActivityAt) : 'never'}</dd>
              <dt>Created</dt>
              <dd>{when(o.createdAt)}</dd>
            </dl>
            <div className="row">
              {o.suspended ? (
                <button
                  type="button"
                  className="primary"
                  onClick={() =>
                    ask({
                      title: `Resume ${o.name}`,
                      action: 'Resume organization',
                      what: 'Its keys, widgets and jobs work again at once, on every node.',
                      danger: false,
                      path: adminPath('orgs', orgId, 'resume'),
                      done: `${o.name} is resumed.`,
                    })
                  }
                >
                  Resume organization
                </button>
              ) : (
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    ask({
                      title: `Suspend ${o.name}`,
                      action: 'Suspend organization',
                      what: 'Its API keys, runtime tokens, CLI credentials, gateway, database access and widgets answer 403 org_suspended, and its jobs stop running. Members can still sign in and read.',
                      danger: true,
                      path: adminPath('orgs', orgId, 'suspend'),
                      done: `${o.name} is suspended.`,
                    })
                  }
                >
                  Suspend organization
                </button>
              )}
            </div>
          </>
        )}
      </Loaded>
      <OkNote message={done} />
      <nav aria-label="Organization data" className="tabs">
        <ul>
          {ORG_TABS.map(([path, title]) => (
            <li key={path}>
              <Link to={`${base}/${path}`} aria-current={path === tab ? 'page' : undefined}>
                {title}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <section aria-label={ORG_TABS.find(([p]) => p === tab)?.[1]} className="tab-panel">
        <OrgTabPanel key={`${tab}-${version}`} orgId={orgId} tab={tab} ask={ask} version={version} />
      </section>
      {pending ? (
        <ReasonDialog
          title={pending.title}
          action={pending.action}
          danger={pending.danger}
          onClose={() => setPending(null)}
          onConfirm={async (reason) => {
            await api('POST', pending.path, { reason });
            setDone(pending.done);
            setVersion((v) => v + 1);
            await summary.reload();
          }}
        >
          <p>{pending.what}</p>
        </ReasonDialog>
      ) : null}
    </Page>
  );
}

function OrgTabPanel(props: { orgId: string; tab: OrgTab; ask: (p: Pending) => void; version: number }) {
  const { orgId, tab, ask } = props;
  if (tab === 'audit')
    return <AuditRows path={adminPath('orgs', orgId, 'audit')} testId="org-audit" version={props.version} />;
  if (tab === 'members') return <MembersTab orgId={orgId} ask={ask} />;
  if (tab === 'credentials') return <CredentialsTab orgId={orgId} ask={ask} />;
  if (tab === 'invitations') return <InvitationsTab orgId={orgId} ask={ask} />;
  return <GenericTab orgId={orgId} tab={tab} />;
}

function MembersTab({ orgId, ask }: { orgId: string; ask: (p: Pending) => void }) {
  const state = useLoad(
    () => api<{ members: AdminMember[] }>('GET', adminPath('orgs', orgId, 'members')),
    [orgId],
  );
  return (
    <Loaded state={state}>
      {({ members }) => (
        <Table caption="Members" testId="org-members" columns={['E-mail', 'Role', 'Since', 'Actions']}>
          {members.map((m) => (
            <tr key={m.userId}>
              <td>{m.email}</td>
              <td>{m.role}</td>
              <td>{when(m.createdAt)}</td>
              <td>
                <button
                  type="button"
                  aria-label={`Force a password reset for ${m.email}`}
                  onClick={() =>
                    ask({
                      title: `Force a password reset for ${m.email}`,
                      action: 'Force password reset',
                      what: 'Their password stops working now, every session and refresh token of theirs is revoked, and a reset link is mailed to them.',
                      danger: true,
                      path: adminPath('users', m.userId, 'force-password-reset'),
                      done: `A password reset is queued for ${m.email}.`,
                    })
                  }
                >
                  Force password reset
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Loaded>
  );
}

function CredentialsTab({ orgId, ask }: { orgId: string; ask: (p: Pending) => void }) {
  const state = useLoad(
    () => api<{ credentials: AdminCredential[] }>('GET', adminPath('orgs', orgId, 'credentials')),
    [orgId],
  );
  return (
    <ListTable
      state={state}
      items={(d: { credentials: AdminCredential[] }) => d.credentials}
      empty="No API keys, runtime tokens or CLI credentials."
      caption="Credentials"
      testId="org-credentials"
      columns={['Kind', 'Name', 'Prefix', 'Created', 'Last used', 'Revoked', 'Actions']}
      row={(c) => {
        const kind = CREDENTIAL_KINDS[c.kind];
        return (
          <tr key={`${c.kind}-${c.id}`}>
            <td>{kind.name}</td>
            <td>{c.name}</td>
            <td>
              <code>
                {kind.start}
                {c.prefix}…
              </code>
            </td>
            <td>{when(c.createdAt)}</td>
            <td>{c.lastUsedAt ? when(c.lastUsedAt) : 'never'}</td>
            <td>{c.revokedAt ? when(c.revokedAt) : '—'}</td>
            <td>
              {c.revokedAt ? null : (
                <button
                  type="button"
                  className="danger"
                  aria-label={`Revoke ${kind.name} ${c.name}`}
                  onClick={() =>
                    ask({
                      title: `Revoke ${kind.name} “${c.name}”`,
                      action: 'Revoke credential',
                      what: 'Programs using it are refused at once, on every node. The org can create a new one.',
                      danger: true,
                      path: adminPath('orgs', orgId, 'credentials', c.id, 'revoke'),
                      done: `${kind.name} “${c.name}” is revoked.`,
                    })
                  }
                >
                  Revoke
                </button>
              )}
            </td>
          </tr>
        );
      }}
    />
  );
}

function InvitationsTab({ orgId, ask }: { orgId: string; ask: (p: Pending) => void }) {
  const state = useLoad(
    () => api<{ invitations: AdminInvitation[] }>('GET', adminPath('orgs', orgId, 'invitations')),
    [orgId],
  );
  return (
    <ListTable
      state={state}
      items={(d: { invitations: AdminInvitation[] }) => d.invitations}
      empty="No invitations."
      caption="Invitations"
      testId="org-invitations"
      columns={['E-mail', 'Role', 'Status', 'Sent', 'Expires', 'Actions']}
      row={(i) => (
        <tr key={i.invitationId}>
          <td>{i.email}</td>
          <td>{i.role}</td>
          <td>{i.status}</td>
          <td>{when(i.createdAt)}</td>
          <td>{when(i.expiresAt)}</td>
          <td>
            {i.status === 'pending' || i.status === 'expired' ? (
              <button
                type="button"
                aria-label={`Resend the invitation of ${i.email}`}
                onClick={() =>
                  ask({
                    title: `Resend the invitation of ${i.email}`,
                    action: 'Resend invitation',
                    what: 'The invitation is mailed again with a fresh link; the old link stops working.',
                    danger: false,
                    path: adminPath('orgs', orgId, 'invitations', i.invitationId, 'resend'),
                    done: `The invitation of ${i.email} is sent again.`,
                  })
                }
              >
                Resend
              </button>
            ) : null}
          </td>
        </tr>
      )}
    />
  );
}

/** Jobs, runs, widgets and connections: every field the route returns (it sends no secrets). */
function GenericTab({ orgId, tab }: { orgId: string; tab: OrgTab }) {
  const state = useLoad(() => api<unknown>('GET', adminPath('orgs', orgId, tab)), [orgId, tab]);
  const title = ORG_TABS.find(([p]) => p === tab)?.[1] ?? tab;
  return (
    <Loaded state={state}>
      {(d) => (
        <RowsTable
          rows={listOf(d, tab)}
          caption={title}
          testId={`org-${tab}`}
          empty={`No ${title.toLowerCase()}.`}
          rowKey={(r, i) => String(r.id ?? i)}
        />
      )}
    </Loaded>
  );
}
