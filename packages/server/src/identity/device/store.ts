/**
 * The RFC 8628 state machine over `device_authorizations`: a request is created pending, a signed-in user
 * approves or denies it by its user code, and the CLI's polls walk it to `consumed` (minting the CLI credential)
 * or hear why not. Every transition is a guarded UPDATE; polls of one code are serialised by a row lock.
 */
import { generateToken } from '@rampart/core/apikeys';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import {
  CLI_CLIENT_ID,
  cleanAgent,
  DEVICE_CODE_TTL_SECONDS,
  DEVICE_POLL_INTERVAL_SECONDS,
  hashDeviceCode,
  MAX_POLL_INTERVAL_SECONDS,
  newDeviceCode,
  newUserCode,
  POLL_GRACE_SECONDS,
  SLOW_DOWN_STEP_SECONDS,
} from './grant.js';

export interface DeviceRow {
  id: string;
  user_code: string;
  client_id: string;
  created_at: Date;
  expires_at: Date;
  requester_ip: string | null;
  requester_agent: string | null;
}

const DEVICE_COLUMNS = 'id, user_code, client_id, created_at, expires_at, requester_ip, requester_agent';

export type PollOutcome =
  | { error: 'invalid_grant' | 'expired_token' | 'access_denied' | 'authorization_pending' | 'slow_down' }
  | { token: string; expiresIn: number };

/**
 * A new pending authorization for the CLI client; `undefined` when no free user code was found in 5 tries.
 * Rows past their expiry are kept a day (so late polls still hear expired_token), then dropped here.
 */
export async function startAuthorization(
  s: IdentityServices,
  requesterIp: string,
  requesterAgent: string | undefined,
): Promise<{ deviceCode: string; userCode: string } | undefined> {
  const device = newDeviceCode();
  let userCode: string | undefined;
  await s.db.platform(async (q) => {
    await q.query(`DELETE FROM device_authorizations WHERE expires_at < now() - interval '1 day'`);
    for (let attempt = 0; attempt < 5 && userCode === undefined; attempt++) {
      const candidate = newUserCode();
      const inserted = await q.query(
        `INSERT INTO device_authorizations
           (id, device_code_hash, user_code, client_id, interval_seconds, requester_ip, requester_agent, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::int * interval '1 second')
         ON CONFLICT DO NOTHING`,
        [
          newId(),
          device.hash,
          candidate,
          CLI_CLIENT_ID,
          DEVICE_POLL_INTERVAL_SECONDS,
          requesterIp,
          cleanAgent(requesterAgent),
          DEVICE_CODE_TTL_SECONDS,
        ],
      );
      if (inserted.rowCount === 1) userCode = candidate;
    }
  });
  return userCode === undefined ? undefined : { deviceCode: device.code, userCode };
}

/**
 * One poll of a device code (RFC 8628 §3.4, §3.5): an approved request is consumed once and becomes a CLI
 * credential (`cli_live_...`) of `credentialSeconds`; a poll faster than the interval is `slow_down` and adds 5 s
 * to it for every later poll.
 */
export async function pollAuthorization(
  s: IdentityServices,
  deviceCode: string,
  clientId: string,
  credentialSeconds: number,
): Promise<PollOutcome> {
  const hash = hashDeviceCode(deviceCode);
  return s.db.platform(async (q): Promise<PollOutcome> => {
    // The row lock serialises concurrent polls of one code; the guarded UPDATE below is the second line.
    const { rows } = await q.query<{
      id: string;
      client_id: string;
      status: 'pending' | 'approved' | 'denied' | 'consumed';
      interval_seconds: number;
      expired: boolean;
      since_poll: number | null;
      requester_agent: string | null;
    }>(
      `SELECT id, client_id, status, interval_seconds, requester_agent, expires_at <= now() AS expired,
              EXTRACT(EPOCH FROM (now() - last_polled_at))::float8 AS since_poll
         FROM device_authorizations WHERE device_code_hash = $1 FOR UPDATE`,
      [hash],
    );
    const r = rows[0];
    if (!r || r.client_id !== clientId || r.status === 'consumed') return { error: 'invalid_grant' };
    if (r.expired) return { error: 'expired_token' };
    if (r.status === 'denied') return { error: 'access_denied' };
    if (r.status === 'approved') {
      const consumed = await q.query<{ user_id: string }>(
        `UPDATE device_authorizations SET status = 'consumed', last_polled_at = now()
          WHERE id = $1 AND status = 'approved' RETURNING user_id`,
        [r.id],
      );
      const userId = consumed.rows[0]?.user_id;
      if (!userId) return { error: 'invalid_grant' };
      const { key, prefix, hash: tokenHash } = generateToken('cli', 'live');
      await q.query(
        `INSERT INTO cli_credentials (id, user_id, name, prefix, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6::int * interval '1 second')`,
        [
          newId(),
          userId,
          `rampart CLI on ${cleanAgent(r.requester_agent ?? undefined, 150) ?? 'an unknown device'}`,
          prefix,
          tokenHash,
          credentialSeconds,
        ],
      );
      return { token: key, expiresIn: credentialSeconds };
    }
    if (r.since_poll !== null && r.since_poll < r.interval_seconds - POLL_GRACE_SECONDS) {
      // RFC 8628 §3.5: the client adds 5 s to its interval; so does the server, for every later poll.
      await q.query(
        `UPDATE device_authorizations
            SET interval_seconds = LEAST(interval_seconds + $2::int, $3::int), last_polled_at = now()
          WHERE id = $1`,
        [r.id, SLOW_DOWN_STEP_SECONDS, MAX_POLL_INTERVAL_SECONDS],
      );
      return { error: 'slow_down' };
    }
    await q.query('UPDATE device_authorizations SET last_polled_at = now() WHERE id = $1', [r.id]);
    return { error: 'authorization_pending' };
  });
}

/** A pending, unexpired request by its (normalised) user code. */
export async function findPending(s: IdentityServices, userCode: string): Promise<DeviceRow | undefined> {
  const { rows } = await s.db.platform((q) =>
    q.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM device_authorizations
        WHERE user_code = $1 AND status = 'pending' AND expires_at > now()`,
      [userCode],
    ),
  );
  return rows[0];
}

/**
 * Approves (binding the request to `userId`; the CLI's next poll turns it into their credential) or denies a
 * pending, unexpired request by its user code; `undefined` when there is none.
 */
export async function decide(
  s: IdentityServices,
  decision: 'approve' | 'deny',
  userCode: string,
  userId: string,
): Promise<DeviceRow | undefined> {
  const { rows } = await s.db.platform((q) =>
    decision === 'approve'
      ? q.query<DeviceRow>(
          `UPDATE device_authorizations SET status = 'approved', user_id = $2
            WHERE user_code = $1 AND status = 'pending' AND expires_at > now() RETURNING ${DEVICE_COLUMNS}`,
          [userCode, userId],
        )
      : q.query<DeviceRow>(
          `UPDATE device_authorizations SET status = 'denied'
            WHERE user_code = $1 AND status = 'pending' AND expires_at > now() RETURNING ${DEVICE_COLUMNS}`,
          [userCode],
        ),
  );
  return rows[0];
}
