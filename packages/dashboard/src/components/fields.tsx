import type { ReactNode } from 'react';
import { Field, OkNote } from '../ui';

/**
 * The form fields the sign-in, account and settings forms share: e-mail, passwords, one-time codes, write-only
 * secrets, and the primary submit button.
 */

/** The password policy in a sentence (the server names the exact rule a refused password breaks). */
export const PASSWORD_HINT =
  'At least 10 characters, not a common password and not your e-mail address; a long passphrase is best.';

/** The account e-mail, as every sign-in and sign-up form asks for it (browsers fill it as the username). */
export function EmailField(props: { value: string; onChange: (v: string) => void }) {
  return (
    <Field
      label="E-mail"
      type="email"
      value={props.value}
      onChange={props.onChange}
      autoComplete="username"
      required
    />
  );
}

/** A required password: the account's current one (the default) or a new one the browser may suggest. */
export function PasswordField(props: {
  value: string;
  onChange: (v: string) => void;
  label?: string;
  autoComplete?: 'current-password' | 'new-password';
  hint?: string;
}) {
  return (
    <Field
      label={props.label ?? 'Password'}
      type="password"
      value={props.value}
      onChange={props.onChange}
      autoComplete={props.autoComplete ?? 'current-password'}
      hint={props.hint}
      required
    />
  );
}

/** The 6-digit code of an authenticator app (numeric keyboard, filled by the browser's one-time-code support). */
export function CodeField(props: {
  value: string;
  onChange: (v: string) => void;
  label?: string;
  hint?: string;
  required?: boolean;
}) {
  return (
    <Field
      label={props.label ?? 'Authentication code'}
      value={props.value}
      onChange={props.onChange}
      inputMode="numeric"
      autoComplete="one-time-code"
      hint={props.hint}
      required={props.required ?? true}
    />
  );
}

/** A required write-only secret (API key, signing secret, webhook URL): masked, never autofilled. */
export function SecretField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  hint?: string;
}) {
  return (
    <Field
      label={props.label}
      type="password"
      value={props.value}
      onChange={props.onChange}
      required
      autoComplete="off"
      placeholder={props.placeholder}
      hint={props.hint}
    />
  );
}

/** A new password and its confirmation, with the same policy hint as sign-up (the server gives the exact rule). */
export function NewPassword(props: {
  password: string;
  confirm: string;
  onPassword: (v: string) => void;
  onConfirm: (v: string) => void;
}) {
  return (
    <>
      <PasswordField
        label="New password"
        value={props.password}
        onChange={props.onPassword}
        autoComplete="new-password"
        hint={PASSWORD_HINT}
      />
      <PasswordField
        label="Confirm the new password"
        value={props.confirm}
        onChange={props.onConfirm}
        autoComplete="new-password"
      />
    </>
  );
}

export const mismatch = (a: string, b: string) => (a !== b ? 'The two passwords do not match.' : null);

/** The buttons under a create-or-edit form: submit (the label says which) and cancel, both idle while saving. */
export function SaveOrCancel(props: {
  busy: boolean;
  disabled?: boolean;
  onCancel: () => void;
  children: ReactNode;
}) {
  return (
    <div className="row">
      <Submit busy={props.busy} disabled={props.disabled ?? false}>
        {props.children}
      </Submit>
      <button type="button" onClick={props.onCancel} disabled={props.busy}>
        Cancel
      </button>
    </div>
  );
}

/**
 * A form's primary submit button, disabled while its request runs; `done` is what the last submit achieved
 * ("Registered …"), shown under it as a status line.
 */
export function Submit(props: {
  busy?: boolean;
  disabled?: boolean;
  done?: string | null;
  children: ReactNode;
}) {
  return (
    <>
      <button type="submit" className="primary" disabled={props.busy || props.disabled}>
        {props.children}
      </button>
      <OkNote message={props.done ?? null} />
    </>
  );
}
