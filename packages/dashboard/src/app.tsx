import type { ClientConfig } from '@rampart/server/api-types';
import { useCallback, useEffect, useState } from 'react';
import { api, type Me, restoreSession, session } from './api';
import { SuspendedBanner } from './components/suspended-banner';
import { Forgot, Login, OidcReturn, Signup } from './pages/auth';
import { ConfirmEmail } from './pages/confirm-email';
import { Device } from './pages/device';
import { AcceptInvite, hasStashedInvitation } from './pages/invite';
import { isOperatorPath, OPERATOR_PAGES, OperatorArea, operatorSection } from './pages/operator/area';
import { ResetPassword, VerifyBanner, VerifyEmail } from './pages/reset';
import { GatewaySummary } from './pages/usage';
import { can, type Role } from './permissions';
import { Link, match, navigate, usePath } from './router';
import { Account, SECTIONS } from './sections';

const PUBLIC = ['/login', '/login/oidc', '/signup', '/forgot'];

/**
 * Where to go once signed in, when a signed-out visitor opened `/device` (the link `rampart login` prints, with
 * `?user_code=`). Kept in memory and in the sign-in page's `?next=`, and only ever a `/device` address, so it
 * cannot become an open redirect.
 */
let returnTo: string | null = null;
const RETURN_PATH = /^\/device(\?user_code=[A-Za-z0-9-]{1,16})?$/;
const remember = (target: string | null) => {
  if (target && RETURN_PATH.test(target)) returnTo = target;
};
/**
 * Signed in on a page for visitors: go where the visitor was headed, else to `fallback`. A no-op once the app
 * has moved on, so the callers racing here (sign-in, the render after it) land in one place.
 */
const leavePublic = (fallback: string) => {
  const here = location.pathname;
  if (!PUBLIC.includes(here) && here !== '/' && here !== '/orgs') return;
  const target = returnTo ?? fallback;
  returnTo = null;
  navigate(target, true);
};

export function App() {
  const path = usePath();
  const [config, setConfig] = useState<ClientConfig | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  // A reload or a new tab resumes the sign-in of the HttpOnly refresh cookie before deciding what to show.
  const [restoring, setRestoring] = useState(() => !session.token);
  const [, force] = useState(0);

  useEffect(() => {
    api<ClientConfig>('GET', '/api/config')
      .then(setConfig)
      .catch(() => setConfig({ version: '', turnstileSiteKey: null }));
    if (!session.token) void restoreSession().finally(() => setRestoring(false));
    return session.onChange(() => {
      // Signed out, or another tab signed in as someone else (the refresh cookie is shared): reload the user.
      setMe((m) => (m && m.userId === session.userId ? m : null));
      force((n) => n + 1);
    });
  }, []);

  const loadMe = useCallback(async () => {
    if (!session.token) return;
    try {
      setMe(await api<Me>('GET', '/api/me'));
    } catch {
      session.set(null);
    }
  }, []);

  const signedIn = async () => {
    await loadMe();
    // Back from a provider sign-in started on an invitation: finish accepting it.
    if (hasStashedInvitation()) return navigate('/accept-invite', true);
    leavePublic('/');
  };
  /** Signed in from a mailed link's page: land on the first page the role opens in that org, or the default. */
  const enter = async (orgId?: string, role?: Role) => {
    await loadMe();
    const landing = role ? SECTIONS.find((s) => can(role, s.action)) : undefined;
    navigate(orgId && landing ? `/orgs/${orgId}/${landing.path}` : '/', true);
  };

  // Pages of mailed links: open signed in or not, they sign the visitor in themselves when they need to.
  if (path === '/reset-password')
    return <ResetPassword siteKey={config?.turnstileSiteKey ?? null} onSignedIn={() => enter()} />;
  if (path === '/accept-invite') return <AcceptInvite onJoined={(orgId, role) => enter(orgId, role)} />;
  if (path === '/verify-email') return <VerifyEmail onDone={() => enter()} />;

  // The e-mail-change link works signed in or not (the change ends every session anyway).
  if (path === '/confirm-email') return <ConfirmEmail />;
  if (restoring && !session.token) return <p className="muted">Loading…</p>;
  // Not signed in: only the public pages.
  if (!session.token) {
    if (path === '/device') {
      // A later render may come after the address has already changed: only read it while it is /device.
      if (location.pathname === '/device') {
        const code = new URLSearchParams(location.search).get('user_code');
        remember(code ? `/device?user_code=${encodeURIComponent(code)}` : '/device');
      }
      const back = returnTo ?? '/device';
      queueMicrotask(() => navigate(`/login?next=${encodeURIComponent(back)}`, true));
      return null;
    }
    if (!PUBLIC.includes(path)) {
      queueMicrotask(() => navigate('/login', true));
      return null;
    }
    if (location.pathname === '/login') remember(new URLSearchParams(location.search).get('next'));
    const siteKey = config?.turnstileSiteKey ?? null;
    if (path === '/signup') return <Signup siteKey={siteKey} onSignedIn={signedIn} />;
    if (path === '/login/oidc') return <OidcReturn onSignedIn={signedIn} />;
    if (path === '/forgot') return <Forgot siteKey={siteKey} />;
    return <Login siteKey={siteKey} onSignedIn={signedIn} />;
  }
  if (!me) {
    void loadMe();
    return <p className="muted">Loading…</p>;
  }
  const first = me.orgs[0];
  // Land on the first page this role may open (a viewer cannot read API keys, for one).
  const landing = first ? SECTIONS.find((s) => can(first.role, s.action)) : undefined;
  if (PUBLIC.includes(path) || path === '/' || path === '/orgs') {
    // An operator without an org of their own lands in the operator console.
    const home =
      first && landing
        ? `/orgs/${first.orgId}/${landing.path}`
        : me.isOperator
          ? '/operator/orgs'
          : '/account';
    queueMicrotask(() => leavePublic(home));
    return null;
  }
  const operator = me.isOperator && isOperatorPath(path);
  const opSection = operator ? operatorSection(path) : undefined;

  const params = match('/orgs/:orgId/:section', path);
  const org = params ? me.orgs.find((o) => o.orgId === params.orgId) : undefined;
  const sections = org ? SECTIONS.filter((s) => can(org.role, s.action)) : [];
  const section = sections.find((s) => s.path === params?.section);

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav aria-label="Main">
        <p className="brand">Rampart</p>
        {me.orgs.length > 0 ? (
          <div className="field">
            <label htmlFor="org-switch">Organization</label>
            <select
              id="org-switch"
              value={org?.orgId ?? ''}
              onChange={(e) => navigate(`/orgs/${e.target.value}/${section?.path ?? 'keys'}`)}
            >
              {!org ? <option value="">Choose…</option> : null}
              {me.orgs.map((o) => (
                <option key={o.orgId} value={o.orgId}>
                  {o.name} ({o.role})
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <ul>
          {org
            ? sections.map((s) => (
                <li key={s.path}>
                  <Link
                    to={`/orgs/${org.orgId}/${s.path}`}
                    aria-current={s.path === section?.path ? 'page' : undefined}
                  >
                    {s.title}
                  </Link>
                </li>
              ))
            : null}
          <li>
            <Link to="/account" aria-current={path === '/account' ? 'page' : undefined}>
              Account and security
            </Link>
          </li>
        </ul>
        {me.isOperator ? (
          <>
            <p className="nav-heading" id="operator-nav">
              Operator
            </p>
            <ul aria-labelledby="operator-nav">
              {OPERATOR_PAGES.map((p) => (
                <li key={p.path}>
                  <Link to={p.path} aria-current={p === opSection ? 'page' : undefined}>
                    {p.title}
                  </Link>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        <p className="muted small">{me.email}</p>
      </nav>
      <main id="main">
        {me.emailVerified === false ? <VerifyBanner email={me.email} /> : null}
        {path === '/account' ? (
          <Account me={me} reload={loadMe} />
        ) : path === '/device' ? (
          <Device me={me} />
        ) : operator ? (
          <OperatorArea me={me} path={path} />
        ) : org && section ? (
          <>
            <SuspendedBanner orgId={org.orgId} />
            {/* The landing page (the first page this role opens) leads with the gateway's last 24 hours. */}
            {section === sections[0] ? <GatewaySummary orgId={org.orgId} /> : null}
            {section.render({ orgId: org.orgId, role: org.role, userId: me.userId })}
          </>
        ) : (
          <section className="page">
            <h1>Not found</h1>
            <p>This page does not exist, or your role in this organization cannot open it.</p>
          </section>
        )}
      </main>
    </div>
  );
}
