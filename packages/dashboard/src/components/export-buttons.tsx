import type { ReactNode } from 'react';
import { download } from '../api';
import { describe } from '../ui';

/**
 * "Export CSV" and "Export NDJSON" for a log the server streams in full (the audit log, the query audit, the usage report), in a
 * row after any other buttons (`children`). A refused or failed export reaches `onError` as a sentence.
 */
export function ExportButtons(props: {
  path: (format: 'csv' | 'ndjson') => string;
  filename: (format: 'csv' | 'ndjson') => string;
  onError: (message: string) => void;
  onStart?: () => void;
  /** The formats the route serves (default both; the usage report is CSV only). */
  formats?: ReadonlyArray<'csv' | 'ndjson'>;
  children?: ReactNode;
}) {
  const formats = props.formats ?? ['csv', 'ndjson'];
  const exportAs = async (format: 'csv' | 'ndjson') => {
    props.onStart?.();
    try {
      await download(props.path(format), props.filename(format));
    } catch (err) {
      props.onError(describe(err));
    }
  };
  return (
    <div className="row">
      {props.children}
      {formats.map((f) => (
        <button type="button" key={f} onClick={() => exportAs(f)}>
          Export {f.toUpperCase()}
        </button>
      ))}
    </div>
  );
}
