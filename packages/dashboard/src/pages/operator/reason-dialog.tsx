import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { describe } from '../../ui';
import { REASON_MAX, REASON_MIN, reasonOk } from './model';

/**
 * A support action's confirmation: a modal dialog that says what will happen and asks for the operator's reason
 * (10 to 500 characters, stored in the audit entry of both chains). The action button stays disabled until the
 * reason is long enough; Escape or Cancel closes it without doing anything.
 */
export function ReasonDialog(props: {
  title: string;
  children: ReactNode;
  /** The button that runs the action, e.g. "Suspend organization". */
  action: string;
  danger?: boolean;
  onConfirm: (reason: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { onClose } = props;

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  const n = reason.trim().length;
  const valid = reasonOk(reason);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid || busy) return;
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm(reason.trim());
      onClose();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={ref}
      className="reason-dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <form onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>{props.title}</h2>
        {props.children}
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason</label>
          <textarea
            id={`${id}-reason`}
            value={reason}
            rows={3}
            maxLength={REASON_MAX + 50}
            required
            aria-invalid={reason !== '' && !valid ? 'true' : undefined}
            aria-describedby={`${id}-reason-hint`}
            onChange={(e) => setReason(e.target.value)}
          />
          <small id={`${id}-reason-hint`} className="hint">
            Why, in your own words ({REASON_MIN} to {REASON_MAX} characters): it is recorded in the platform
            audit log and in the organization's own audit log. {n}/{REASON_MAX}
          </small>
        </div>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row">
          <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={!valid || busy}>
            {props.action}
          </button>
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
