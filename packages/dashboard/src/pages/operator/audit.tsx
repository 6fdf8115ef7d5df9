import { useState } from 'react';
import { api } from '../../api';
import { ErrorNote, Page, useAction } from '../../ui';
import { adminPath, type VerifyResult } from './model';
import { AuditRows } from './rows';

/** The platform audit chain (operator actions, settings changes, notices): newest first, and "Verify" on demand. */
export function OperatorAudit() {
  const [result, setResult] = useState<VerifyResult | null>(null);
  const [version, setVersion] = useState(0);
  const { busy, error, act } = useAction();
  const verify = async () => {
    setResult(null);
    const r = await act(() => api<VerifyResult>('POST', adminPath('audit', 'verify')));
    if (r) setResult(r);
  };
  return (
    <Page
      title="Platform audit"
      actions={
        <div className="row">
          <button type="button" onClick={() => setVersion((v) => v + 1)}>
            Refresh
          </button>
          <button type="button" className="primary" onClick={verify} disabled={busy}>
            {busy ? 'Verifying…' : 'Verify'}
          </button>
        </div>
      }
    >
      <p className="muted">
        The platform's own hash chain: operator sign-ins to org data, support actions, platform settings and
        incident notices. Verify recomputes every entry's hash from the first one.
      </p>
      {result ? (
        <p role="status" data-testid="platform-chain-status" className={result.ok ? 'ok' : 'error'}>
          {result.ok
            ? `Hash chain verified: ${result.checked} entries, no tampering found.`
            : `Hash chain verification FAILED${
                result.firstBadSeq !== undefined && result.firstBadSeq !== null
                  ? ` at entry ${result.firstBadSeq}`
                  : ''
              }: ${result.reason ?? 'entries were edited or removed'} (${result.checked} checked).`}
        </p>
      ) : null}
      <ErrorNote error={error} />
      <AuditRows path={adminPath('audit')} testId="platform-audit" version={version} />
    </Page>
  );
}
