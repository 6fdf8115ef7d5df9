import type { CredentialListed } from '@rampart/server/api-types';
import { useState } from 'react';
import { orgPath } from '../../api';
import { CredentialList } from '../../components/credential-list';
import { can, type Role } from '../../permissions';
import { Page } from '../../ui';
import { Packages } from './packages';
import { SigningKeys } from './signing-keys';
import { Telemetry } from './telemetry';

/** One per runtime machine: it may sync the org's skills and report telemetry, nothing else. */
function RuntimeTokens({ orgId }: { orgId: string }) {
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Runtime tokens</h2>
      <p className="muted">
        One per runtime machine, for <code>rampart runtime sync</code>: it may sync this organization’s skills
        and report telemetry, nothing else.
      </p>
      <CredentialList
        path={orgPath(orgId, '/runtime-tokens')}
        items={(d: { tokens: CredentialListed[] }) => d.tokens}
        kind="runtimeToken"
        empty="No runtime tokens."
        revoke={{
          allowed: true,
          label: (t) => `Revoke runtime token ${t.name}`,
          confirm: (t) => `Revoke "${t.name}"? That runtime can no longer sync or report.`,
        }}
        create={{
          form: 'Create a runtime token',
          field: 'Token name',
          placeholder: 'ops laptop',
          button: 'Create token',
          reveal: 'Your new runtime token',
          body: (name) => ({ name: name.trim() }),
          secret: (r: { token: string }) => r.token,
        }}
      />
    </section>
  );
}

/**
 * Skill packages: what is published (with signature status), the signing keys the org trusts, runtime tokens
 * for the machines that sync, and the compact telemetry those runtimes report.
 */
export function Skills({ orgId, role }: { orgId: string; role: Role }) {
  // Revoking a key changes the packages' signature status: the list reloads.
  const [version, setVersion] = useState(0);
  return (
    <Page title="Skills">
      <Packages orgId={orgId} version={version} />
      <SigningKeys orgId={orgId} role={role} onChanged={() => setVersion((v) => v + 1)} />
      {can(role, 'runtime_tokens.manage') ? <RuntimeTokens orgId={orgId} /> : null}
      <Telemetry orgId={orgId} />
    </Page>
  );
}
