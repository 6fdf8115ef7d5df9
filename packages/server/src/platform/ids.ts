import { randomUUID } from 'node:crypto';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** True for a canonical RFC 9562 UUID string. Route params are checked with this before any SQL. */
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID_RE.test(s);

/** Row ids are minted in the app (not the DB) because seal AAD must name the row before it is inserted. */
export const newId = (): string => randomUUID();
