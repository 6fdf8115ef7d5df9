import { type ChangeEvent, useId } from 'react';
import { Hint, hintOf, readAsText } from '../ui';

/**
 * A file picker that reads the chosen file as text in the browser and hands it over (nothing is uploaded). The
 * picker is emptied afterwards, so the same file can be chosen again.
 */
export function TextFileInput(props: {
  label: string;
  accept: string;
  hint?: string;
  onText: (text: string, file: File) => void;
  /** The file could not be read (not text, gone, no permission). */
  onUnreadable: (file: File) => void;
}) {
  const id = useId();
  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const file = input.files?.[0];
    if (!file) return;
    try {
      props.onText(await readAsText(file), file);
    } catch {
      props.onUnreadable(file);
    } finally {
      input.value = '';
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="file"
        accept={props.accept}
        onChange={pick}
        aria-describedby={hintOf(id, props.hint)}
      />
      <Hint id={id} text={props.hint} />
    </div>
  );
}
