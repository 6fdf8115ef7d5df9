/**
 * Every invitation mails an address the inviter chooses, and re-inviting mails it again. Without a cap, one
 * account (verified or not) turned the outbox into a relay: unlimited mails, with its own org name in them, to any
 * address, the same one included. Capped per (org, address) and per inviting user; 429 rate_limited.
 */
import { api, signup, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe.each(ENGINES)('invitation mail limits (%s)', (engine) => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer(engine, { RAMPART_INVITES_PER_USER_PER_HOUR: '5' });
  });
  afterAll(() => srv?.close());

  it('re-inviting one address is capped at 3 an hour per org', async () => {
    const a = await signup(srv.baseUrl);
    const target = uniqueEmail('bombed');
    const send = () =>
      api(srv.baseUrl, a.token).post<{ error?: string }>(`/api/orgs/${a.orgId}/members`, {
        email: target.toUpperCase(),
        role: 'viewer',
      });
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(201);
    const capped = await send();
    expect(capped.status).toBe(429);
    expect(capped.body.error).toBe('rate_limited');
    expect(capped.headers.get('retry-after')).toBeTruthy();
  });

  it('one inviter sends at most RAMPART_INVITES_PER_USER_PER_HOUR invitations an hour', async () => {
    const a = await signup(srv.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (
          await api(srv.baseUrl, a.token).post(`/api/orgs/${a.orgId}/members`, {
            email: uniqueEmail(`spam${i}`),
            role: 'viewer',
          })
        ).status,
      );
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
  });
});
