import type { ApiKeyListed } from '@rampart/server/api-types';
import { useState } from 'react';
import { orgPath } from '../api';
import { CredentialList } from '../components/credential-list';
import { can, type Role } from '../permissions';
import { Page, Select } from '../ui';

type Redaction = ApiKeyListed['redaction'];
const REDACTION = [
  ['inherit', 'Org setting'],
  ['on', 'Always on'],
  ['off', 'Off'],
] as const;

export function ApiKeys({ orgId, role }: { orgId: string; role: Role }) {
  const [redaction, setRedaction] = useState<Redaction>('inherit');
  const manage = can(role, 'apikeys.manage');
  return (
    <Page title="API keys">
      <CredentialList
        path={orgPath(orgId, '/api-keys')}
        items={(d: { keys: ApiKeyListed[] }) => d.keys}
        kind="apiKey"
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
                  <Select
                    label="PII redaction"
                    value={redaction}
                    onChange={setRedaction}
                    options={REDACTION}
                  />
                ),
                body: (name) => ({ name, redaction }),
                secret: (r: { key: string }) => r.key,
              }
            : undefined
        }
      />
    </Page>
  );
}
