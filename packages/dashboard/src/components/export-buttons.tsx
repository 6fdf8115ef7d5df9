import type { ReactNode } from 'react';
import { download } from '../api';
import { describe } from '../ui';

/**
 * "Export CSV" and "Export NDJSON" for a log the server streams in full (the audit log, the query audit), in a
 * row after any other buttons (`children`). A refused or failed export reaches `onError` as a sentence.
 */
export function ExportButtons(props: {
  path: (format: 'csv' | 'ndjson') => string;
  filename: (format: 'csv' | 'ndjson') => string;
  onError: (message: string) => void;
  onStart?: () => void;
  children?: ReactNode;
}) {
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
      <button type="button" onClick={() => exportAs('csv')}>
        Export CSV
      </button>
      <button type="button" onClick={() => exportAs('ndjson')}>
        Export NDJSON
      </button>
    </div>
  );
}
