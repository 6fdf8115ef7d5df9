import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { DangerButton, LoadedList, Table } from '../ui';

/**
 * A loaded list shown as a table: loading and error states, the empty state when there is nothing, else one row
 * per item (`row` returns the `<tr>`). The columns are as `Table` takes them (`false` leaves one out).
 */
export function ListTable<T, I>(props: {
  state: { data: T | null; error: ApiError | null; loading: boolean };
  items: (data: T) => I[];
  empty: ReactNode;
  caption: ReactNode;
  columns: ReadonlyArray<string | false>;
  testId?: string | undefined;
  row: (item: I) => ReactNode;
}) {
  return (
    <LoadedList state={props.state} items={props.items} empty={props.empty}>
      {(items) => (
        <Table testId={props.testId} caption={props.caption} columns={props.columns}>
          {items.map(props.row)}
        </Table>
      )}
    </LoadedList>
  );
}

/**
 * The "Actions" cell of a row: left out when the role may not act (`show` false, as its column is), empty when
 * this row offers nothing (`offer` false), else one destructive button that asks `confirm` first.
 */
export function DangerCell(props: {
  show: boolean;
  offer?: boolean;
  onClick: () => unknown;
  label: string;
  confirm?: string | undefined;
  disabled?: boolean | undefined;
  children: ReactNode;
}) {
  if (!props.show) return null;
  return (
    <td>
      {props.offer === false ? null : (
        <DangerButton
          onClick={props.onClick}
          label={props.label}
          confirm={props.confirm}
          disabled={props.disabled}
        >
          {props.children}
        </DangerButton>
      )}
    </td>
  );
}
