/**
 * Adversarial checks of the node bus, cross-node cache invalidation and agent forwarding.
 */
import { api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe('an agent that sends junk', () => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('a JSON `null` message from an agent does not take the node down', async () => {
    const owner = await signup(srv.baseUrl);
    const created = await api(srv.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
      `/api/orgs/${owner.orgId}/connections`,
      { name: 'junk', mode: 'agent' },
    );
    const { id, agentToken } = created.body;
    const ws = new WebSocket(`${srv.baseUrl.replace('http', 'ws')}/agent`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => srv.rampart.services.agentHub.connected(id)).toBe(true);
    const errors: unknown[] = [];
    const onErr = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onErr);
    try {
      ws.send('null');
      ws.send('"x"');
      ws.send('[]');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('uncaughtException', onErr);
    }
    expect(errors).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});

describe('an agent that answers with the wrong shape', () => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('is a bad_gateway, never a 500', async () => {
    const owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    const created = await a.post<{ id: string; agentToken: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'odd',
      mode: 'agent',
    });
    const { id, agentToken } = created.body;
    const key = (await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' })).body.key;
    const ws = new WebSocket(`${srv.baseUrl.replace('http', 'ws')}/agent`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id: string };
      ws.send(JSON.stringify({ type: 'result', id: m.id, result: { columns: 'x', rows: 5 } }));
    });
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => srv.rampart.services.agentHub.connected(id)).toBe(true);
    const r = await api(srv.baseUrl, key).post(`/api/orgs/${owner.orgId}/connections/${id}/query`, {
      sql: 'SELECT 1',
      params: [],
    });
    expect(r.status, r.text).toBe(502);
    expect((r.body as { error: string }).error).toBe('bad_gateway');
    ws.close();
  });
});
