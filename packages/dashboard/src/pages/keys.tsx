import type { ApiKeyListed } from '@rampart/server/api-types';
import { useState } from 'react';
import { orgPath } from '../api';
import { CredentialList } from '../components/credential-list';
import {
  API_KEY_SCOPES,
  type ApiKeyScope,
  can,
  canGrant,
  DEFAULT_API_KEY_SCOPES,
  type Role,
} from '../permissions';
import { Check, Page, Select } from '../ui';

type Redaction = ApiKeyListed['redaction'];
const REDACTION = [
  ['inherit', 'Org setting'],
  ['on', 'Always on'],
  ['off', 'Off'],
] as const;

/** What each scope lets a program do, as the create form offers it. */
const SCOPES: Record<ApiKeyScope, { label: string; hint: string }> = {
  gateway: { label: 'LLM gateway', hint: 'Call the models through /v1.' },
  'db.query': { label: 'Database queries', hint: 'Query the database connections (API and MCP).' },
  'skills.publish': { label: 'Publish skills', hint: 'Upload signed skill packages.' },
  'audit.read': {
    label: 'Read the audit log',
    hint: 'The audit log, the query audit and chain verification, with CSV and NDJSON export: for a SIEM or a compliance job.',
  },
};

export function ApiKeys({ orgId, role }: { orgId: string; role: Role }) {
  const [redaction, setRedaction] = useState<Redaction>('inherit');
  const [scopes, setScopes] = useState<readonly ApiKeyScope[]>(DEFAULT_API_KEY_SCOPES);
  const manage = can(role, 'apikeys.manage');
  // Only the scopes this role may grant: the server refuses the others (403) anyway.
  const grantable = API_KEY_SCOPES.filter((s) => canGrant(role, s));
  const toggle = (s: ApiKeyScope, on: boolean) =>
    setScopes((cur) => API_KEY_SCOPES.filter((x) => (x === s ? on : cur.includes(x))));
  return (
    <Page title="API keys">
      <CredentialList
        path={orgPath(orgId, '/api-keys')}
        items={(d: { keys: ApiKeyListed[] }) => d.keys}
        kind="apiKey"
        extraColumns={[['Scopes', (k) => k.scopes.join(', ')]]}
        empty={
          <>No API keys yet.{manage ? ' Create one to call the gateway or the API from your code.' : ''}</>
        }
        revoke={{
          allowed: manage,
          label: (k) => `Revoke ${k.name}`,
          confirm: (k) => `Revoke "${k.name}"? Programs using it stop working at once.`,
        }}
        create={
          manage
            ? {
                form: 'Create API key',
                field: 'Key name',
                placeholder: 'e.g. production backend',
                button: 'Create key',
                reveal: 'Your new API key',
                fields: (
                  <>
                    <Select
                      label="PII redaction"
                      value={redaction}
                      onChange={setRedaction}
                      options={REDACTION}
                    />
                    <fieldset className="scopes">
                      <legend>What the key may do</legend>
                      {grantable.map((s) => (
                        <Check
                          key={s}
                          label={SCOPES[s].label}
                          hint={SCOPES[s].hint}
                          checked={scopes.includes(s)}
                          onChange={(on) => toggle(s, on)}
                        />
                      ))}
                    </fieldset>
                  </>
                ),
                body: (name) => ({ name, redaction, scopes: scopes.filter((s) => grantable.includes(s)) }),
                secret: (r: { key: string }) => r.key,
              }
            : undefined
        }
      />
    </Page>
  );
}
