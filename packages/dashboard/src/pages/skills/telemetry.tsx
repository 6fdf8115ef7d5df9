import { api, orgPath } from '../../api';
import { ListTable } from '../../components/list-table';
import { useLoad, when } from '../../ui';
import { duration, type TelemetryEvent } from './model';

/** What the runtimes reported: numbers, outcomes and error codes only. */

export function Telemetry({ orgId }: { orgId: string }) {
  const state = useLoad(
    () => api<{ events: TelemetryEvent[] }>('GET', orgPath(orgId, '/runtime-telemetry?limit=50')),
    [orgId],
  );
  return (
    <section aria-labelledby="telemetry-title">
      <div className="page-head">
        <h2 id="telemetry-title">Recent runtime telemetry</h2>
        <button type="button" onClick={() => state.reload()}>
          Refresh telemetry
        </button>
      </div>
      <p className="muted">Numbers, outcomes and error codes only: runtimes never send page content.</p>
      <ListTable
        state={state}
        items={(d) => d.events}
        empty="No runs reported yet."
        testId="telemetry-table"
        caption="Runtime telemetry, newest first"
        columns={[
          'When',
          'Skill',
          'Outcome',
          'Steps (ok / failed / total)',
          'Duration',
          'Error code',
          'Runtime',
        ]}
        row={(e) => (
          <tr key={e.id}>
            <td>{when(e.occurredAt)}</td>
            <td>
              {e.skill} v{e.version}
            </td>
            <td>
              <span className={`status status-${e.outcome}`}>{e.outcome.replace('_', ' ')}</span>
            </td>
            <td>
              {e.stepsOk} / {e.stepsFailed} / {e.stepsTotal}
            </td>
            <td>{duration(e.durationMs)}</td>
            <td>{e.errorCode ? <code>{e.errorCode}</code> : '—'}</td>
            <td>{e.runtimeVersion}</td>
          </tr>
        )}
      />
    </section>
  );
}
