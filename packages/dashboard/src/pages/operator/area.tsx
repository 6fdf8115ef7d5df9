import type { Me } from '../../api';
import { match, navigate } from '../../router';
import { OperatorAudit } from './audit';
import { OperatorGate } from './gate';
import { OperatorNotices } from './notices';
import { isOrgTab, OperatorOrg } from './org';
import { OperatorOrgs } from './orgs';
import { OperatorSettings } from './settings';

/** The operator console's pages, in navigation order (shown to platform operators only). */
export const OPERATOR_PAGES = [
  { path: '/operator/orgs', title: 'Organizations' },
  { path: '/operator/audit', title: 'Platform audit' },
  { path: '/operator/settings', title: 'Platform settings' },
  { path: '/operator/notices', title: 'Incident notices' },
] as const;

export const isOperatorPath = (path: string) => path === '/operator' || path.startsWith('/operator/');

/** Which operator page a path opens (its nav entry is marked current), or undefined. */
export const operatorSection = (path: string) =>
  OPERATOR_PAGES.find((p) => path === p.path || path.startsWith(`${p.path}/`));

function OperatorPage({ path }: { path: string }) {
  const one = match('/operator/orgs/:orgId', path) ?? match('/operator/orgs/:orgId/:tab', path);
  if (one?.orgId) {
    const tab = one.tab ?? 'members';
    if (isOrgTab(tab)) return <OperatorOrg orgId={one.orgId} tab={tab} />;
  }
  switch (path.replace(/\/+$/, '')) {
    case '/operator':
      queueMicrotask(() => navigate('/operator/orgs', true));
      return null;
    case '/operator/orgs':
      return <OperatorOrgs />;
    case '/operator/audit':
      return <OperatorAudit />;
    case '/operator/settings':
      return <OperatorSettings />;
    case '/operator/notices':
      return <OperatorNotices />;
  }
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>This page of the operator console does not exist.</p>
    </section>
  );
}

/**
 * The operator console (platform operators only; the server also requires a session signed in with TOTP and
 * says 403 otherwise, which the gate turns into a clear message).
 */
export function OperatorArea({ me, path }: { me: Me; path: string }) {
  return (
    <OperatorGate me={me}>
      <OperatorPage path={path} />
    </OperatorGate>
  );
}
