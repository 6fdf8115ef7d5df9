import { useState } from 'react';
import { api, orgPath } from '../../api';
import { ListTable } from '../../components/list-table';
import { can, type Role } from '../../permissions';
import { Page, useLoad } from '../../ui';
import { AlertChannels } from './channels';
import { JobDetail } from './detail';
import { JobForm } from './form';
import { type Channel, describeCron, fromNow, inZone, type Job, StatusBadge } from './model';

/**
 * Scheduled HTTP jobs: list, create and edit (with a cron helper), run now, run history with a duration chart,
 * delete; and the alert channels jobs report failures to. Header and auth values are typed once and from then on
 * only the server's masked form is shown (the API never returns them).
 */

type Mode = { kind: 'view' } | { kind: 'create' } | { kind: 'edit'; job: Job };

export function Jobs({ orgId, role }: { orgId: string; role: Role }) {
  const state = useLoad(() => api<{ jobs: Job[] }>('GET', orgPath(orgId, '/jobs')), [orgId]);
  const readChannels = can(role, 'alerts.read');
  const channels = useLoad(
    () =>
      readChannels
        ? api<{ channels: Channel[] }>('GET', orgPath(orgId, '/alert-channels'))
        : Promise.resolve({ channels: [] as Channel[] }),
    [orgId, readChannels],
  );
  const [mode, setMode] = useState<Mode>({ kind: 'view' });
  const [selected, setSelected] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const write = can(role, 'jobs.write');
  const channelList = channels.data?.channels ?? [];

  const saved = async (job: Job) => {
    setMode({ kind: 'view' });
    setSelected(job.id);
    setVersion((v) => v + 1);
    await state.reload();
  };

  return (
    <Page
      title="Scheduled jobs"
      actions={
        write && mode.kind === 'view' ? (
          <button type="button" className="primary" onClick={() => setMode({ kind: 'create' })}>
            New job
          </button>
        ) : null
      }
    >
      <p className="muted">
        Rampart sends one HTTP request on a cron schedule, records what happened and alerts when it fails.
      </p>
      {mode.kind !== 'view' ? (
        <JobForm
          key={mode.kind === 'edit' ? mode.job.id : 'new'}
          orgId={orgId}
          job={mode.kind === 'edit' ? mode.job : null}
          channels={channelList}
          onSaved={saved}
          onCancel={() => setMode({ kind: 'view' })}
        />
      ) : null}
      <ListTable
        state={state}
        items={(d) => d.jobs}
        empty={<>No jobs yet.{write ? ' Create one to call a URL on a schedule.' : ''}</>}
        testId="jobs-table"
        caption="Jobs"
        columns={['Name', 'Schedule', 'Request', 'Next run', 'Health']}
        row={(j) => {
          const cron = describeCron(j.schedule);
          return (
            <tr key={j.id} aria-current={selected === j.id ? 'true' : undefined}>
              <td>
                <button
                  type="button"
                  className="link"
                  onClick={() => setSelected(j.id)}
                  aria-label={`Open job ${j.name}`}
                >
                  {j.name}
                </button>
              </td>
              <td>
                <code>{j.schedule}</code>
                <br />
                <small className="muted">
                  {cron.ok ? cron.text : ''} ({j.timezone})
                </small>
              </td>
              <td>
                <code className="meta">
                  {j.method} {j.url}
                </code>
              </td>
              <td>
                {j.nextRunAt ? (
                  <>
                    <time dateTime={j.nextRunAt}>{inZone(j.nextRunAt, j.timezone)}</time>
                    <br />
                    <small className="muted">{fromNow(j.nextRunAt)}</small>
                  </>
                ) : (
                  'paused'
                )}
              </td>
              <td>
                {!j.enabled ? (
                  <StatusBadge status="paused" />
                ) : j.consecutiveFailures > 0 ? (
                  <StatusBadge status="failed">{`${j.consecutiveFailures} failing`}</StatusBadge>
                ) : (
                  <StatusBadge status="succeeded">ok</StatusBadge>
                )}
              </td>
            </tr>
          );
        }}
      />
      {selected && mode.kind === 'view' ? (
        <JobDetail
          key={selected}
          orgId={orgId}
          jobId={selected}
          role={role}
          channels={channelList}
          version={version}
          onEdit={(job) => setMode({ kind: 'edit', job })}
          onDeleted={async () => {
            setSelected(null);
            await state.reload();
          }}
          onClose={() => setSelected(null)}
        />
      ) : null}
      {readChannels ? <AlertChannels orgId={orgId} role={role} state={channels} /> : null}
    </Page>
  );
}
