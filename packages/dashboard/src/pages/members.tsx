import type { Invitation, Member } from '@rampart/server/api-types';
import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../api';
import { Submit } from '../components/fields';
import { DangerCell } from '../components/list-table';
import { can, type Role } from '../permissions';
import { ErrorNote, Field, Loaded, Page, Select, Table, useAction, useLoad, when } from '../ui';

const ROLE_OPTIONS = [
  ['owner', 'Owner'],
  ['admin', 'Admin'],
  ['member', 'Member'],
  ['viewer', 'Viewer'],
] as const;

export function Members({ orgId, role, userId }: { orgId: string; role: Role; userId: string }) {
  const state = useLoad(() => api<{ members: Member[] }>('GET', orgPath(orgId, '/members')), [orgId]);
  const [email, setEmail] = useState('');
  const [newRole, setNewRole] = useState<Role>('member');
  const { busy, error, act } = useAction();
  const manage = can(role, 'members.manage');
  // Only owners may grant or take away the owner role; the select shows what the role may choose.
  const choices = ROLE_OPTIONS.filter(([r]) => r !== 'owner' || can(role, 'members.manage_owners'));

  const invitations = useLoad(
    () => api<{ invitations: Invitation[] }>('GET', orgPath(orgId, '/invitations')),
    [orgId],
  );
  const [sentTo, setSentTo] = useState<string | null>(null);

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() => api('POST', orgPath(orgId, '/members'), { email, role: newRole }));
    if (r) {
      setSentTo(email);
      setEmail('');
      await invitations.reload();
    }
  };
  const revoke = async (i: Invitation) => {
    await act(() => api('DELETE', orgPath(orgId, `/invitations/${i.invitationId}`)));
    await invitations.reload();
  };
  const change = async (m: Member, next: Role) => {
    await act(() => api('PATCH', orgPath(orgId, `/members/${m.userId}`), { role: next }));
    await state.reload();
  };
  const remove = async (m: Member) => {
    await act(() => api('DELETE', orgPath(orgId, `/members/${m.userId}`)));
    await state.reload();
  };

  return (
    <Page title="Members">
      {manage ? (
        <form onSubmit={invite} className="inline" aria-label="Invite a member">
          <Field label="E-mail" type="email" value={email} onChange={setEmail} required />
          <Select label="Role" value={newRole} onChange={setNewRole} options={choices} />
          <Submit busy={busy}>Send invitation</Submit>
          <p className="muted small">
            We e-mail an invitation. The person becomes a member when they accept it, signed in with this
            address.
          </p>
        </form>
      ) : null}
      {sentTo ? <p role="status">Invitation sent to {sentTo}.</p> : null}
      <ErrorNote error={error} />
      <Loaded state={invitations}>
        {({ invitations: open }) =>
          open.length === 0 ? null : (
            <Table caption="Pending invitations" columns={['E-mail', 'Role', 'Expires', manage && 'Actions']}>
              {open.map((i) => (
                <tr key={i.invitationId}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td>{i.status === 'expired' ? 'Expired' : when(i.expiresAt)}</td>
                  <DangerCell
                    show={manage}
                    offer={i.role !== 'owner' || can(role, 'members.manage_owners')}
                    onClick={() => revoke(i)}
                    label={`Withdraw the invitation of ${i.email}`}
                    confirm={`Withdraw the invitation of ${i.email}?`}
                  >
                    Withdraw
                  </DangerCell>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      <Loaded state={state}>
        {({ members }) => (
          <Table caption="Members" columns={['E-mail', 'Role', 'Since', manage && 'Actions']}>
            {members.map((m) => {
              const editable = manage && (m.role !== 'owner' || can(role, 'members.manage_owners'));
              return (
                <tr key={m.userId}>
                  <td>
                    {m.email}
                    {m.userId === userId ? ' (you)' : ''}
                  </td>
                  <td>
                    {editable ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) => change(m, e.target.value as Role)}
                        disabled={busy}
                      >
                        {choices.map(([r, text]) => (
                          <option key={r} value={r}>
                            {text}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{when(m.createdAt)}</td>
                  <DangerCell
                    show={manage}
                    offer={editable}
                    onClick={() => remove(m)}
                    label={`Remove ${m.email}`}
                    confirm={`Remove ${m.email} from this organization?`}
                  >
                    Remove
                  </DangerCell>
                </tr>
              );
            })}
          </Table>
        )}
      </Loaded>
    </Page>
  );
}
