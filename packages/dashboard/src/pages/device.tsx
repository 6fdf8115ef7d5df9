import type { DeviceRequest } from '@rampart/server/api-types';
import { type FormEvent, useEffect, useState } from 'react';
import { api, type Me } from '../api';
import { navigate } from '../router';
import { ErrorNote, Field, Page, useAction, when } from '../ui';

const CLIENT_NAMES: Record<string, string> = { 'rampart-cli': 'Rampart CLI (rampart login)' };

/**
 * `/device`: approve or deny a CLI sign-in (RFC 8628). The CLI shows a code and this URL, and the user types the
 * code their own terminal shows. A link carrying a code (`?user_code=...`) is never used to fill it in: such a
 * link is exactly what a phisher sends (RFC 8628 §5.4), so the page says so and asks for the code. It shows what
 * is asking (client, address, user agent, time), and plainly when the request came from another address.
 */
export function Device({ me }: { me: Me }) {
  const [fromLink] = useState(() => new URLSearchParams(location.search).has('user_code'));
  const [input, setInput] = useState('');
  const [request, setRequest] = useState<DeviceRequest | null>(null);
  const [outcome, setOutcome] = useState<'approved' | 'denied' | null>(null);
  const { busy, error, act } = useAction();

  const lookup = async (code: string) => {
    const r = await act(() =>
      api<DeviceRequest>('GET', `/api/auth/device?user_code=${encodeURIComponent(code.trim())}`),
    );
    setRequest(r ?? null);
  };

  // A code in the address is not trusted (and not kept in the address bar or history).
  useEffect(() => {
    if (fromLink) navigate('/device', true);
  }, [fromLink]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await lookup(input);
  };

  const decide = async (decision: 'approve' | 'deny') => {
    if (!request) return;
    const ok = await act(() => api('POST', `/api/auth/device/${decision}`, { userCode: request.userCode }));
    if (ok) {
      setOutcome(decision === 'approve' ? 'approved' : 'denied');
      setRequest(null);
      // The code is spent: keep it out of the address bar (and history) from now on.
      navigate('/device', true);
    }
  };

  if (outcome) {
    return (
      <Page title="CLI sign-in">
        {outcome === 'approved' ? (
          <p className="ok" role="status">
            Approved. The CLI is now signed in as {me.email}; return to your terminal. You can revoke it at
            any time under Account and security, CLI sessions.
          </p>
        ) : (
          <p role="status">Denied. The CLI that asked gets no access.</p>
        )}
      </Page>
    );
  }

  if (request) {
    return (
      <Page title="Approve CLI sign-in?">
        <p className="warning">
          <strong>Only approve if you just ran rampart login yourself</strong> and your terminal shows the
          code below. Approving lets that CLI act as you ({me.email}) until the credential expires or you
          revoke it.
        </p>
        {request.sameAddress ? null : (
          <p className="warning" role="alert" data-testid="device-address-mismatch">
            <strong>This request came from another network address</strong> (
            {request.requesterIp ?? 'unknown'}) than yours ({request.approverIp}). If you did not just run
            rampart login on another machine or network yourself, someone may be trying to get you to sign
            them in: choose Deny.
          </p>
        )}
        <dl className="facts" data-testid="device-request">
          <dt>Code</dt>
          <dd>
            <code>{request.userCode}</code>
          </dd>
          <dt>Client</dt>
          <dd>{CLIENT_NAMES[request.clientId] ?? request.clientId}</dd>
          <dt>Requested from</dt>
          <dd>{request.requesterIp ?? 'unknown address'}</dd>
          <dt>Device</dt>
          <dd className="meta">{request.requesterAgent ?? 'unknown'}</dd>
          <dt>Requested at</dt>
          <dd>{when(request.createdAt)}</dd>
          <dt>Expires at</dt>
          <dd>{when(request.expiresAt)}</dd>
        </dl>
        <ErrorNote error={error} />
        <div className="row">
          <button type="button" className="primary" onClick={() => decide('approve')} disabled={busy}>
            Approve
          </button>
          <button type="button" className="danger" onClick={() => decide('deny')} disabled={busy}>
            Deny
          </button>
        </div>
      </Page>
    );
  }

  return (
    <Page title="CLI sign-in">
      <form onSubmit={submit} aria-label="Enter the CLI code">
        {fromLink ? (
          <p className="warning" role="status" data-testid="device-link-notice">
            For your safety, a link cannot fill in the code. Type the code that rampart login shows in your
            own terminal; if you did not just run it, close this page.
          </p>
        ) : null}
        <p>Enter the code that rampart login shows in your terminal.</p>
        <Field
          label="Code"
          value={input}
          onChange={setInput}
          placeholder="XXXX-XXXX"
          autoComplete="off"
          hint="Eight letters; case and the dash do not matter."
          required
        />
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Continue
        </button>
      </form>
    </Page>
  );
}
