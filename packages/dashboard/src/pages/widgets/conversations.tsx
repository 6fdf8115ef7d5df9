import type {
  WidgetConversation,
  WidgetMessageDay,
  WidgetThreadMessage,
  WidgetUnanswered,
} from '@rampart/server/api-types';
import { useState } from 'react';
import { api, orgPath } from '../../api';
import { ListTable } from '../../components/list-table';
import { DangerButton, ErrorNote, Loaded, useAction, useLoad, when } from '../../ui';
import type { Widget } from './model';

/**
 * What visitors asked a widget: answered and unanswered messages per day, the questions it could not answer
 * from its documents, and its conversations (list, thread, delete). Message text is shown only here, opened
 * by the server from its seals; it is kept `conversationRetentionDays` after a conversation's last message.
 */

type Page<T> = T & { nextCursor: string | null };
type Thread = WidgetConversation & { messages: WidgetThreadMessage[] };

const path = (orgId: string, widgetId: string, rest: string) => orgPath(orgId, `/widgets/${widgetId}${rest}`);

/** Messages per UTC day as stacked SVG bars (answered below, unanswered above), with a text alternative. */
function DayChart({ days }: { days: WidgetMessageDay[] }) {
  const max = Math.max(1, ...days.map((d) => d.answered + d.unanswered));
  const w = 640;
  const h = 140;
  const pad = 24;
  const bw = (w - pad) / Math.max(1, days.length);
  const y = (n: number) => (n / max) * (h - 10);
  return (
    <figure data-testid="messages-chart">
      <svg
        className="chart"
        viewBox={`0 0 ${w} ${h + 20}`}
        role="img"
        aria-label={`Messages per day: ${days.map((d) => `${d.day} ${d.answered} answered, ${d.unanswered} unanswered`).join('; ')}`}
      >
        <line className="axis" x1={pad} y1={h} x2={w} y2={h} />
        <text className="tick" x={0} y={10}>
          {max}
        </text>
        {days.map((d, i) => (
          <g
            key={d.day}
            data-testid={`messages-bar-${d.day}`}
            data-answered={d.answered}
            data-unanswered={d.unanswered}
          >
            <title>{`${d.day}: ${d.answered} answered, ${d.unanswered} not answered from the documents`}</title>
            <rect
              className="bar-succeeded"
              x={pad + i * bw + 1}
              y={h - y(d.answered)}
              width={Math.max(1, bw - 2)}
              height={y(d.answered)}
            />
            <rect
              className="bar-failed"
              x={pad + i * bw + 1}
              y={h - y(d.answered) - y(d.unanswered)}
              width={Math.max(1, bw - 2)}
              height={y(d.unanswered)}
            />
            {i % 5 === 0 ? (
              <text className="tick" x={pad + i * bw + 1} y={h + 14}>
                {d.day.slice(5)}
              </text>
            ) : null}
          </g>
        ))}
      </svg>
      <figcaption className="muted small">
        Messages per UTC day, last 30 days: answered from the documents (green) and not (red)
      </figcaption>
    </figure>
  );
}

function ThreadView(props: {
  orgId: string;
  widgetId: string;
  id: string;
  write: boolean;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const { orgId, widgetId, id } = props;
  const state = useLoad(
    () => api<Thread>('GET', path(orgId, widgetId, `/conversations/${id}`)),
    [orgId, widgetId, id],
  );
  const { busy, error, act } = useAction();
  const remove = async () => {
    const ok = await act(() => api('DELETE', path(orgId, widgetId, `/conversations/${id}`)).then(() => true));
    if (ok) props.onDeleted();
  };
  return (
    <section className="panel" aria-labelledby={`thread-${id}`} data-testid="conversation-thread">
      <div className="page-head">
        <h4 id={`thread-${id}`}>Conversation</h4>
        <div className="row">
          <button type="button" onClick={props.onClose}>
            Close conversation
          </button>
          {props.write ? (
            <DangerButton
              onClick={remove}
              disabled={busy}
              confirm="Delete this conversation and all its messages? This cannot be undone."
            >
              Delete conversation
            </DangerButton>
          ) : null}
        </div>
      </div>
      <ErrorNote error={error} />
      <Loaded state={state}>
        {(t) => (
          <>
            <p className="muted small">
              Visitor <code>{t.visitorId.slice(0, 8)}</code>, started {when(t.startedAt)}
            </p>
            <ol className="thread">
              {t.messages.map((m) => (
                <li key={m.id} data-testid="thread-message">
                  <p>
                    <strong>Visitor</strong> <span className="muted small">{when(m.at)}</span>
                    {m.grounded ? null : (
                      <span className="status status-failed">not answered from the documents</span>
                    )}
                  </p>
                  <p className="pre" data-testid="thread-question">
                    {m.question}
                  </p>
                  <p>
                    <strong>Assistant</strong>
                  </p>
                  <p className="pre" data-testid="thread-reply">
                    {m.reply}
                  </p>
                </li>
              ))}
            </ol>
          </>
        )}
      </Loaded>
    </section>
  );
}

export function Conversations(props: { orgId: string; widget: Widget; write: boolean }) {
  const { orgId, widget, write } = props;
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [open, setOpen] = useState<string | null>(null);
  const stats = useLoad(
    () => api<{ days: WidgetMessageDay[] }>('GET', path(orgId, widget.id, '/message-stats')),
    [orgId, widget.id],
  );
  const unanswered = useLoad(
    () => api<Page<{ questions: WidgetUnanswered[] }>>('GET', path(orgId, widget.id, '/unanswered?limit=10')),
    [orgId, widget.id],
  );
  const list = useLoad(
    () =>
      api<Page<{ conversations: WidgetConversation[] }>>(
        'GET',
        path(
          orgId,
          widget.id,
          `/conversations?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        ),
      ),
    [orgId, widget.id, cursor],
  );
  const reloadAll = async () => {
    await Promise.all([list.reload(), unanswered.reload(), stats.reload()]);
  };

  return (
    <section aria-labelledby={`conv-${widget.id}`} data-testid="widget-conversations">
      <h3 id={`conv-${widget.id}`}>Conversations</h3>
      <p className="muted small">
        Kept {widget.conversationRetentionDays} days after their last message, sealed; the visitor may delete
        theirs from the widget.
      </p>
      <Loaded state={stats}>{(d) => <DayChart days={d.days} />}</Loaded>

      <h4>Questions it could not answer</h4>
      <ListTable
        state={unanswered}
        items={(d) => d.questions}
        empty="None yet: every question matched the documents."
        caption="Questions the widget could not answer from its documents"
        testId="unanswered-table"
        columns={['Question', 'Asked', '']}
        row={(q) => (
          <tr key={q.messageId}>
            <td className="pre">{q.question}</td>
            <td>{when(q.at)}</td>
            <td>
              <button type="button" className="link" onClick={() => setOpen(q.conversationId)}>
                Open its conversation
              </button>
            </td>
          </tr>
        )}
      />

      <h4>All conversations</h4>
      <ListTable
        state={list}
        items={(d) => d.conversations}
        empty="No conversations yet."
        caption="Visitor conversations, most recent first"
        testId="conversations-table"
        columns={['Visitor', 'Started', 'Last message', 'Messages', 'Unanswered', '']}
        row={(c) => (
          <tr key={c.id} aria-current={open === c.id ? 'true' : undefined}>
            <td>
              <code>{c.visitorId.slice(0, 8)}</code>
            </td>
            <td>{when(c.startedAt)}</td>
            <td>{when(c.lastMessageAt)}</td>
            <td data-testid="message-count">{c.messageCount}</td>
            <td>{c.unansweredCount}</td>
            <td>
              <button
                type="button"
                className="link"
                onClick={() => setOpen(c.id)}
                aria-label={`Open conversation of visitor ${c.visitorId.slice(0, 8)}`}
              >
                Open
              </button>
            </td>
          </tr>
        )}
      />
      <div className="row">
        {cursors.length > 0 ? (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer conversations
          </button>
        ) : null}
        {list.data?.nextCursor ? (
          <button type="button" onClick={() => setCursors([...cursors, list.data?.nextCursor ?? ''])}>
            Older conversations
          </button>
        ) : null}
      </div>
      {open ? (
        <ThreadView
          key={open}
          orgId={orgId}
          widgetId={widget.id}
          id={open}
          write={write}
          onClose={() => setOpen(null)}
          onDeleted={async () => {
            setOpen(null);
            await reloadAll();
          }}
        />
      ) : null}
    </section>
  );
}
