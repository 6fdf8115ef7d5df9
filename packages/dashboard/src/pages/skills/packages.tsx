import { useState } from 'react';
import { api, orgPath } from '../../api';
import { ListTable } from '../../components/list-table';
import { Loaded, Table, useLoad, when } from '../../ui';
import { SignatureBadge, type Skill, size, type Version } from './model';

/** The published packages, newest version each, and a panel with every version of the one opened. */

function Versions(props: { orgId: string; name: string; version: number; onClose: () => void }) {
  const { orgId, name, onClose } = props;
  const state = useLoad(
    () =>
      api<{ name: string; versions: Version[] }>(
        'GET',
        orgPath(orgId, `/skills/${encodeURIComponent(name)}`),
      ),
    [orgId, name, props.version],
  );
  return (
    <section className="panel" aria-labelledby="versions-title" data-testid="skill-versions">
      <div className="page-head">
        <h3 id="versions-title">Versions of {name}</h3>
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </div>
      <Loaded state={state}>
        {({ versions }) => (
          <Table
            caption={`Versions of ${name}, newest first`}
            columns={['Version', 'Signature', 'Signing key', 'Files', 'Size', 'SHA-256', 'Published']}
          >
            {versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>
                  <SignatureBadge signature={v.signature} />
                </td>
                <td>
                  <code>{v.keyId.slice(0, 16)}</code>
                </td>
                <td>{v.fileCount}</td>
                <td>{size(v.sizeBytes)}</td>
                <td>
                  <code className="meta" title={v.sha256}>
                    {v.sha256.slice(0, 16)}…
                  </code>
                </td>
                <td>{when(v.createdAt)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Loaded>
    </section>
  );
}

export function Packages({ orgId, version }: { orgId: string; version: number }) {
  const state = useLoad(() => api<{ skills: Skill[] }>('GET', orgPath(orgId, '/skills')), [orgId, version]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="skills-title">
      <div className="page-head">
        <h2 id="skills-title">Packages</h2>
        <button type="button" onClick={() => state.reload()}>
          Refresh packages
        </button>
      </div>
      <p className="muted">
        Published with <code>rampart pack</code> and <code>rampart publish</code>; runtimes sync only versions
        signed by a key that is not revoked.
      </p>
      <ListTable
        state={state}
        items={(d) => d.skills}
        empty="No skill packages published yet."
        testId="skills-table"
        caption="Skill packages"
        columns={['Skill', 'Latest', 'Versions', 'Signature', 'Published']}
        row={(s) => (
          <tr key={s.name}>
            <td>
              <button
                type="button"
                className="link"
                onClick={() => setOpen(s.name)}
                aria-label={`Show versions of ${s.name}`}
              >
                {s.name}
              </button>
            </td>
            <td>v{s.latest.version}</td>
            <td>{s.versions}</td>
            <td>
              <SignatureBadge signature={s.latest.signature} />
            </td>
            <td>{when(s.latest.createdAt)}</td>
          </tr>
        )}
      />
      {open ? (
        <Versions key={open} orgId={orgId} name={open} version={version} onClose={() => setOpen(null)} />
      ) : null}
    </section>
  );
}
