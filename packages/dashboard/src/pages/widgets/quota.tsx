import { useId } from 'react';
import { Loaded, type useLoad } from '../../ui';
import { type Billing, bytes } from './model';

/** The plan and how much of it is used; knowledge bytes as a bar (a <progress> element: no inline style). */
export function Quota({ state }: { state: ReturnType<typeof useLoad<Billing>> }) {
  const barId = useId();
  return (
    <Loaded state={state}>
      {(b) => {
        const used = b.usage.knowledgeBytes;
        const limit = b.limits.knowledgeBytes;
        const pct = limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 0;
        return (
          <section className="panel quota" aria-labelledby={`${barId}-title`} data-testid="quota">
            <h2 id={`${barId}-title`}>
              Plan: <span className="plan">{b.plan}</span>
            </h2>
            <label htmlFor={barId}>Knowledge base</label>
            <progress
              id={barId}
              className={`bar${pct >= 90 ? ' full' : ''}`}
              max={limit}
              value={Math.min(used, limit)}
              aria-describedby={`${barId}-text`}
            >
              {pct}%
            </progress>
            <p id={`${barId}-text`} className="small" data-testid="quota-text">
              {bytes(used)} of {bytes(limit)} used ({pct}%)
            </p>
            <p className="small muted">
              Widgets: {b.usage.widgets} of {b.limits.widgets} · Messages this month:{' '}
              {b.usage.monthlyMessages} of {b.limits.monthlyMessages}
              {b.messageCredits ? ` · ${b.messageCredits} extra message credits` : ''}
            </p>
          </section>
        );
      }}
    </Loaded>
  );
}
