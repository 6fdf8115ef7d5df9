import type { ReactNode } from 'react';
import { type ApiError, api, type Me } from '../../api';
import { Link } from '../../router';
import { describe, useLoad } from '../../ui';
import { adminPath } from './model';

/**
 * What an operator page shows when the server refuses the admin routes: they need a session of a platform
 * operator signed in with two-factor authentication (the server checks; this only explains).
 */
export function NeedsTotp({ me }: { me: Pick<Me, 'totpEnabled'> }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <h1 id="page-title">Operator console</h1>
      <div className="banner" role="alert" data-testid="operator-needs-totp">
        <p>
          <strong>The operator console needs a sign-in with two-factor authentication.</strong>
        </p>
        {me.totpEnabled ? (
          <p>
            This session was not signed in with an authentication code. Sign out, then sign in again with your
            password and the code from your authenticator app.
          </p>
        ) : (
          <p>
            Turn on two-factor authentication in <Link to="/account">Account and security</Link>, then sign
            out and sign in again with your password and the code from your authenticator app.
          </p>
        )}
      </div>
    </section>
  );
}

/** True when an admin route refused this session (not an operator, or not signed in with TOTP). */
export const refused = (e: ApiError | null) => e?.status === 403;

/**
 * The operator area: asks the server once whether this session may use the admin routes, and shows the TOTP
 * message instead of the page when it may not.
 */
export function OperatorGate({ me, children }: { me: Pick<Me, 'totpEnabled'>; children: ReactNode }) {
  const probe = useLoad(() => api<unknown>('GET', `${adminPath('orgs')}?limit=1`), []);
  if (refused(probe.error)) return <NeedsTotp me={me} />;
  if (probe.error)
    return (
      <p className="error" role="alert">
        {describe(probe.error)}
      </p>
    );
  if (probe.loading && probe.data === null)
    return (
      <p className="muted" aria-live="polite">
        Loading…
      </p>
    );
  return <>{children}</>;
}
