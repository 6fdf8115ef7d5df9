import { type FormEvent, useState } from 'react';
import { api, orgPath } from '../api';
import { can, type Role } from '../permissions';
import { DangerButton, ErrorNote, Field, Loaded, Page, Select, Table, useAction, useLoad, when } from '../ui';

interface Member {
  userId: string;
  email: string;
  role: Role;
  createdAt: string;
}
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

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act(() => api('POST', orgPath(orgId, '/members'), { email, role: newRole }));
    if (r) {
      setEmail('');
      await state.reload();
    }
  };
  const change = async (m: Member, next: Role) => {
    await act(() => api('PATCH', orgPath(orgId, `/members/${m.userId}`), { role: next }));
    await state.reload();
  };
  const remove = async (m: Member) => {
    if (!window.confirm(`Remove ${m.email} from this organization?`)) return;
    await act(() => api('DELETE', orgPath(orgId, `/members/${m.userId}`)));
    await state.reload();
  };

  return (
    <Page title="Members">
      {manage ? (
        <form onSubmit={invite} className="inline" aria-label="Add a member">
          <Field label="E-mail" type="email" value={email} onChange={setEmail} required />
          <Select label="Role" value={newRole} onChange={setNewRole} options={choices} />
          <button type="submit" className="primary" disabled={busy}>
            Add member
          </button>
        </form>
      ) : null}
      <ErrorNote error={error} />
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
                  {manage ? (
                    <td>
                      {editable ? (
                        <DangerButton onClick={() => remove(m)} label={`Remove ${m.email}`}>
                          Remove
                        </DangerButton>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </Table>
        )}
      </Loaded>
    </Page>
  );
}
