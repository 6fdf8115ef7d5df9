import { type AuthType, browserZone, type Job, type Method } from './model';

/** The job form's state, and the API request body it becomes. */

export interface HeaderRow {
  key: number;
  name: string;
  value: string;
}
export type AuthChoice = 'keep' | 'none' | AuthType;
export interface Draft {
  name: string;
  schedule: string;
  timezone: string;
  url: string;
  method: Method;
  /** Editing only: false keeps the stored header values (the server replaces headers whole when sent). */
  replaceHeaders: boolean;
  headers: HeaderRow[];
  auth: AuthChoice;
  authValue: string;
  body: string;
  timeoutMs: string;
  retries: string;
  storeResponse: boolean;
  retentionDays: string;
  alertChannelIds: string[];
  alertAfter: string;
  enabled: boolean;
}

let rowKey = 0;
export const newRow = (name = ''): HeaderRow => ({ key: ++rowKey, name, value: '' });

export const emptyDraft = (): Draft => ({
  name: '',
  schedule: '0 * * * *',
  timezone: browserZone(),
  url: '',
  method: 'GET',
  replaceHeaders: true,
  headers: [],
  auth: 'none',
  authValue: '',
  body: '',
  timeoutMs: '10000',
  retries: '2',
  storeResponse: false,
  retentionDays: '',
  alertChannelIds: [],
  alertAfter: '1',
  enabled: true,
});

export const draftOf = (j: Job): Draft => ({
  name: j.name,
  schedule: j.schedule,
  timezone: j.timezone,
  url: j.url,
  method: j.method,
  replaceHeaders: false,
  headers: [],
  auth: j.auth ? 'keep' : 'none',
  authValue: '',
  body: j.body ?? '',
  timeoutMs: String(j.timeoutMs),
  retries: String(j.retries),
  storeResponse: j.storeResponse,
  retentionDays: j.retentionDays === null ? '' : String(j.retentionDays),
  alertChannelIds: j.alertChannelIds,
  alertAfter: String(j.alertAfter),
  enabled: j.enabled,
});

export const hasBody = (m: Method) => m !== 'GET' && m !== 'HEAD';

/** The request body for POST (everything) or PATCH (headers and auth only when the user replaces them). */
export function payload(d: Draft, editing: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: d.name.trim(),
    schedule: d.schedule.trim().split(/\s+/).join(' '),
    timezone: d.timezone.trim(),
    url: d.url.trim(),
    method: d.method,
    body: hasBody(d.method) && d.body !== '' ? d.body : null,
    timeoutMs: Number(d.timeoutMs),
    retries: Number(d.retries),
    storeResponse: d.storeResponse,
    retentionDays: d.retentionDays.trim() === '' ? null : Number(d.retentionDays),
    alertChannelIds: d.alertChannelIds,
    alertAfter: Number(d.alertAfter),
    enabled: d.enabled,
  };
  if (!editing || d.replaceHeaders)
    out.headers = Object.fromEntries(
      d.headers.filter((h) => h.name.trim() !== '').map((h) => [h.name.trim(), h.value]),
    );
  if (d.auth === 'none') out.auth = null;
  else if (d.auth !== 'keep') out.auth = { type: d.auth, value: d.authValue };
  return out;
}
