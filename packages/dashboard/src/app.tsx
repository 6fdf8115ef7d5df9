import { useCallback, useEffect, useState } from 'react';
import { api, type Me, session } from './api';
import { Forgot, Login, Signup } from './pages/auth';
import { can } from './permissions';
import { Link, match, navigate, usePath } from './router';
import { Account, SECTIONS } from './sections';

interface ClientConfig {
  version: string;
  turnstileSiteKey: string | null;
}

const PUBLIC = ['/login', '/signup', '/forgot'];

export function App() {
  const path = usePath();
  const [config, setConfig] = useState<ClientConfig | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [, force] = useState(0);

  useEffect(() => {
    api<ClientConfig>('GET', '/api/config')
      .then(setConfig)
      .catch(() => setConfig({ version: '', turnstileSiteKey: null }));
    return session.onChange(() => {
      if (!session.token) setMe(null);
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
    navigate('/', true);
  };

  // Not signed in: only the public pages.
  if (!session.token) {
    if (!PUBLIC.includes(path)) {
      queueMicrotask(() => navigate('/login', true));
      return null;
    }
    const siteKey = config?.turnstileSiteKey ?? null;
    if (path === '/signup') return <Signup siteKey={siteKey} onSignedIn={signedIn} />;
    if (path === '/forgot') return <Forgot siteKey={siteKey} />;
    return <Login siteKey={siteKey} onSignedIn={signedIn} />;
  }
  if (!me) {
    void loadMe();
    return <p className="muted">Loading…</p>;
  }
  const first = me.orgs[0];
  if (PUBLIC.includes(path) || path === '/' || path === '/orgs') {
    queueMicrotask(() => navigate(first ? `/orgs/${first.orgId}/keys` : '/account', true));
    return null;
  }

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
        <p className="muted small">{me.email}</p>
      </nav>
      <main id="main">
        {path === '/account' ? (
          <Account me={me} reload={loadMe} />
        ) : org && section ? (
          section.render({ orgId: org.orgId, role: org.role, userId: me.userId })
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
