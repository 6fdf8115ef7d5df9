import type { ReactNode } from 'react';
import { Account } from './pages/account';
import { Audit } from './pages/audit';
import { Connections } from './pages/connections';
import { Jobs } from './pages/jobs/list';
import { ApiKeys } from './pages/keys';
import { Members } from './pages/members';
import { SettingsPage } from './pages/settings';
import { Skills } from './pages/skills/page';
import { Usage } from './pages/usage';
import { Widgets } from './pages/widgets/page';
import type { Action, Role } from './permissions';

/** What every org page gets. */
export interface OrgPageProps {
  orgId: string;
  role: Role;
  userId: string;
}

/**
 * The org pages, in navigation order. `action` is the permission needed to see the page at all: the nav hides
 * what the role cannot read (the server refuses it anyway). Add a page here and it gets a route and a nav link.
 */
export const SECTIONS: ReadonlyArray<{
  path: string;
  title: string;
  action: Action;
  render: (p: OrgPageProps) => ReactNode;
}> = [
  {
    path: 'keys',
    title: 'API keys',
    action: 'apikeys.read',
    render: (p) => <ApiKeys orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'settings',
    title: 'Settings',
    action: 'settings.read',
    render: (p) => <SettingsPage orgId={p.orgId} role={p.role} />,
  },
  { path: 'members', title: 'Members', action: 'members.read', render: (p) => <Members {...p} /> },
  {
    path: 'jobs',
    title: 'Scheduled jobs',
    action: 'jobs.read',
    render: (p) => <Jobs orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'widgets',
    title: 'Chat widgets',
    action: 'widgets.read',
    render: (p) => <Widgets orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'connections',
    title: 'Database connections',
    action: 'dbaccess.read',
    render: (p) => <Connections orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'skills',
    title: 'Skills',
    action: 'skills.read',
    render: (p) => <Skills orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'usage',
    title: 'Usage',
    action: 'usage.read',
    render: (p) => <Usage orgId={p.orgId} role={p.role} />,
  },
  {
    path: 'audit',
    title: 'Audit log',
    action: 'audit.read',
    render: (p) => <Audit orgId={p.orgId} role={p.role} />,
  },
];

export { Account };
