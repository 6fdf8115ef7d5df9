import type { AuditEntry } from '@rampart/server/api-types';
import { type ReactNode, useCallback, useEffect, useId, useState } from 'react';
import { ApiError } from './api';

/** Loads data for a page; `reload()` refetches. Errors are kept for an error state, never thrown at React. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const run = useCallback(async () => {
    setLoading(true);
    try {
      setData(await load());
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
    } finally {
      setLoading(false);
    }
    // biome-ignore lint/correctness/useExhaustiveDependencies: callers pass the inputs of `load` as deps
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { data, error, loading, reload: run };
}

/** Runs a mutation with a busy flag and an error message for the form. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(describe(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, act };
}

/** A person-readable sentence for an API error: the server's message, plus which field when validation failed. */
export function describe(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  const issues = err.details.issues as Array<{ path: string; message: string }> | undefined;
  if (err.code === 'validation_failed' && issues?.length)
    return issues.map((i) => `${i.path.replace(/^\//, '') || 'request'}: ${i.message}`).join('; ');
  if (err.code === 'rate_limited') return `${err.message}.`;
  return err.message;
}

/** A short confirmation of what just worked ("Registered …", "Added …"), announced to screen readers. */
export function OkNote({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="status" className="ok">
      {message}
    </p>
  );
}

export function ErrorNote({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** The id of a field's hint for `aria-describedby`, when it has one. */
export const hintOf = (id: string, hint: string | undefined) => (hint ? `${id}-hint` : undefined);

/** The small text under a field that explains it (the field points at it with `hintOf`). */
export function Hint({ id, text }: { id: string; text: string | undefined }) {
  return text ? (
    <small id={`${id}-hint`} className="hint">
      {text}
    </small>
  ) : null;
}

interface FieldProps {
  label: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  autoComplete?: string;
  required?: boolean;
  placeholder?: string | undefined;
  hint?: string | undefined;
  inputMode?: 'numeric' | 'text';
  name?: string;
}

export function Field(props: FieldProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete}
        required={props.required}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        aria-describedby={hintOf(id, props.hint)}
      />
      <Hint id={id} text={props.hint} />
    </div>
  );
}

/** A `Field` for whole numbers: a number input with the numeric keyboard on touch devices. */
export function NumberField(props: Omit<FieldProps, 'type' | 'inputMode'>) {
  return <Field {...props} type="number" inputMode="numeric" />;
}

/** A labelled multi-line text field, like `Field`. */
export function TextArea(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  disabled?: boolean;
  rows?: number;
  required?: boolean;
  placeholder?: string;
  spellCheck?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <textarea
        id={id}
        value={props.value}
        rows={props.rows ?? 4}
        disabled={props.disabled}
        required={props.required}
        placeholder={props.placeholder}
        spellCheck={props.spellCheck}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={hintOf(id, props.hint)}
      />
      <Hint id={id} text={props.hint} />
    </div>
  );
}

/** A required text field with suggestions (a datalist) the user may pick or type past. */
export function SuggestField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  suggestions: readonly string[];
  hint: string;
  /** Default true. */
  required?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={`${id}-input`}>{props.label}</label>
      <input
        id={`${id}-input`}
        list={id}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        required={props.required ?? true}
        autoComplete="off"
        aria-describedby={hintOf(id, props.hint)}
      />
      <datalist id={id}>
        {props.suggestions.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <Hint id={id} text={props.hint} />
    </div>
  );
}

/** A labelled checkbox with an optional hint. */
export function Check(props: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
        aria-describedby={hintOf(id, props.hint)}
      />
      <label htmlFor={id}>{props.label}</label>
      <Hint id={id} text={props.hint} />
    </div>
  );
}

export function Select<T extends string>(props: {
  label: string;
  value: T;
  options: ReadonlyArray<readonly [T, string]>;
  onChange: (v: T) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value as T)}>
        {props.options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** What a create-or-edit form gets besides the item: its org, and what to do once saved or on cancel. */
export interface EditorProps<T> {
  orgId: string;
  onSaved: (saved: T) => void;
  onCancel: () => void;
}

export function Page(props: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * A data table with a screen-reader caption and one header cell per column; `false` leaves a column out (for
 * columns only some roles see). The rows are the children.
 */
export function Table(props: {
  caption: ReactNode;
  columns: ReadonlyArray<string | false>;
  testId?: string | undefined;
  className?: string;
  children: ReactNode;
}) {
  return (
    <table className={props.className} data-testid={props.testId}>
      <caption className="sr-only">{props.caption}</caption>
      <thead>
        <tr>
          {props.columns.map((c) =>
            c === false ? null : (
              <th scope="col" key={c}>
                {c}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/** Asks the browser's own yes/no question; true on yes. Every "are you sure?" of the dashboard goes through here. */
export const confirmed = (question: string): boolean => window.confirm(question);

/** Reads a local file as UTF-8 text in the browser (nothing is uploaded until a form is sent). */
export function readAsText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsText(file);
  });
}

/**
 * A destructive button. With `confirm`, the browser asks that question first and `onClick` runs only on yes.
 * `label` is the accessible name when the visible text alone is ambiguous (e.g. "Delete channel on-call").
 */
export function DangerButton(props: {
  onClick: () => unknown;
  children: ReactNode;
  label?: string | undefined;
  confirm?: string | undefined;
  disabled?: boolean | undefined;
}) {
  return (
    <button
      type="button"
      className="danger"
      onClick={() => {
        if (props.confirm !== undefined && !confirmed(props.confirm)) return;
        void props.onClick();
      }}
      disabled={props.disabled}
      aria-label={props.label}
    >
      {props.children}
    </button>
  );
}

/** Loading / error, then the list, or the empty state when the list has nothing. */
export function LoadedList<T, I>(props: {
  state: { data: T | null; error: ApiError | null; loading: boolean };
  items: (data: T) => I[];
  empty: ReactNode;
  children: (items: I[], data: T) => ReactNode;
}) {
  return (
    <Loaded state={props.state}>
      {(data) => {
        const items = props.items(data);
        return items.length === 0 ? <Empty>{props.empty}</Empty> : props.children(items, data);
      }}
    </Loaded>
  );
}

/** Loading / error / content, so every page has the same clear states. */
export function Loaded<T>(props: {
  state: { data: T | null; error: ApiError | null; loading: boolean };
  children: (data: T) => ReactNode;
}) {
  if (props.state.error)
    return (
      <p className="error" role="alert">
        {props.state.error.status === 403
          ? `Your role cannot see this: ${props.state.error.message}`
          : describe(props.state.error)}
      </p>
    );
  if (props.state.data === null)
    return (
      <p className="muted" aria-live="polite">
        Loading…
      </p>
    );
  return <>{props.children(props.state.data)}</>;
}

/** Copies text to the clipboard, with a visible confirmation for sighted and screen-reader users. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 2000);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? 'Copied' : label}
      <span className="sr-only" aria-live="polite">
        {copied ? ' to clipboard' : ''}
      </span>
    </button>
  );
}

/** A value shown once (new API key, token, recovery codes): copy button and a plain warning. */
export function RevealOnce(props: { title: string; value: string; onDone: () => void }) {
  return (
    <div className="reveal" role="dialog" aria-labelledby="reveal-title">
      <h2 id="reveal-title">{props.title}</h2>
      <p className="warning">
        <strong>You will not see this again.</strong> Copy it now and store it somewhere safe.
      </p>
      <pre className="secret" data-testid="revealed">
        {props.value}
      </pre>
      <div className="row">
        <CopyButton text={props.value} />
        <button type="button" onClick={props.onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

/** Who acted, by the first 8 characters of an id: a user or an API key, `preferKey` deciding which comes first. */
export function actor(
  e: { userId: string | null; apiKeyId: string | null },
  none: string,
  preferKey = false,
) {
  const user = e.userId ? `user ${e.userId.slice(0, 8)}` : null;
  const key = e.apiKeyId ? `key ${e.apiKeyId.slice(0, 8)}` : null;
  return (preferKey ? (key ?? user) : (user ?? key)) ?? none;
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

/** One audit entry's cells after any leading ones: when, action, target, who, IP, details (the org and platform logs). */
export function AuditCells({ e }: { e: AuditEntry }) {
  return (
    <>
      <td>{when(e.at)}</td>
      <td>
        <code>{e.action}</code>
      </td>
      <td>{e.target ?? '—'}</td>
      <td>{actor(e, 'system')}</td>
      <td>{e.ip ?? '—'}</td>
      <td>
        <code className="meta">{e.meta && Object.keys(e.meta).length ? JSON.stringify(e.meta) : ''}</code>
      </td>
    </>
  );
}
