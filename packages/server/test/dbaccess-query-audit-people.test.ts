/**
 * Issue 26, part 3: the query audit names the person and the parameters. Through the official MCP SDK client
 * and the HTTP query route on real PostgreSQL: the API key's creator is the row's user beside the key, the MCP
 * client's name and version come from its initialize (carried in a signed session id, the endpoint being
 * stateless), `x-ai-model` is kept as `declaredModel`, and parameter values are stored PII-redacted and cut to
 * 256 characters, never rows; every field is in the hash chain. Also the helpers on their own.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sealConnection } from '@rampart/core/connseal';
import { SessionKeyRing } from '@rampart/core/tokens';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryAuditRow } from '../src/api-types.js';
import {
  auditParam,
  auditParams,
  initializeClient,
  PARAM_CHARS,
  readMcpSession,
  signMcpSession,
} from '../src/dbaccess/query-audit.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';
import { startTestServer } from './helpers.js';

const BASE = process.env.TEST_DATABASE_URL;
const EMAIL = 'jane.doe@example.com';
const LONG = `${'x'.repeat(995)}-tail`;

describe('query-audit parameters and MCP session ids', () => {
  it('redacts the whole value, then cuts it to 256 characters', () => {
    expect(auditParam(`mail ${EMAIL} now`)).toBe('mail [EMAIL] now');
    expect(auditParam(LONG)).toBe('x'.repeat(PARAM_CHARS));
    // Redacted before the cut: an address straddling the 256th character is not half kept.
    const straddling = auditParam(`${'y'.repeat(250)} ${EMAIL}`);
    expect(straddling).toBe(`${'y'.repeat(250)} [EMAIL]`.slice(0, PARAM_CHARS));
    expect(String(straddling)).not.toContain('jane');
    expect(auditParam(42)).toBe(42);
    expect(auditParam(4111111111111111)).toBe('[CREDIT_CARD]');
    expect(auditParam(true)).toBe(true);
    expect(auditParam(null)).toBe(null);
  });

  it('keeps values within the byte budget, in order', () => {
    expect(auditParams(['a', 1, null], 1000)).toEqual(['a', 1, null]);
    const many = auditParams(
      Array.from({ length: 100 }, () => LONG),
      4000,
    );
    expect(many.length).toBeGreaterThan(10);
    expect(many.length).toBeLessThan(16);
    expect(JSON.stringify(many).length).toBeLessThanOrEqual(4000);
  });

  it('reads the client of an initialize, and only of an initialize', () => {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { clientInfo: { name: 'a', version: '1' } },
    };
    expect(initializeClient(init)).toEqual({ name: 'a', version: '1' });
    expect(initializeClient([init])).toEqual({ name: 'a', version: '1' });
    expect(initializeClient({ ...init, method: 'tools/call' })).toBeNull();
    expect(initializeClient({ ...init, params: { clientInfo: { name: 3 } } })).toBeNull();
  });

  it('a session id names its client only for the key it was issued to, and only unaltered', () => {
    const ring = SessionKeyRing.single(Buffer.alloc(32, 7));
    const id = signMcpSession(ring, 'key-a', { name: 'claude', version: '1.0' });
    expect(id).toMatch(/^ms1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(readMcpSession(ring, 'key-a', id)).toEqual({ name: 'claude', version: '1.0' });
    expect(readMcpSession(ring, 'key-b', id)).toBeNull();
    const [p, payload, sig] = id.split('.');
    const forged = Buffer.from(JSON.stringify({ k: 'key-a', n: 'forged', v: '9' })).toString('base64url');
    expect(readMcpSession(ring, 'key-a', `${p}.${forged}.${sig}`)).toBeNull();
    expect(readMcpSession(SessionKeyRing.single(Buffer.alloc(32, 8)), 'key-a', id)).toBeNull();
    expect(readMcpSession(ring, 'key-a', `${p}.${payload}`)).toBeNull();
    expect(readMcpSession(ring, 'key-a', undefined)).toBeNull();
  });
});

describe.skipIf(!BASE)('the query audit names the person, the client and the parameters (postgres)', () => {
  let customer: ReaderDatabase;
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let owner: Account;
  let other: Account;
  let apiKey: string;
  let apiKeyId: string;
  let otherKey: string;
  let connectionId: string;
  let client: Client;
  let transport: StreamableHTTPClientTransport;

  const audit = async (who: Account = owner) =>
    (
      await api(srv.baseUrl, who.token).get<{ entries: QueryAuditRow[] }>(
        `/api/orgs/${who.orgId}/query-audit?order=desc&limit=50`,
      )
    ).body.entries;
  const mcpPost = (key: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${srv.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        authorization: `Bearer ${key}`,
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const runSelect = (id: number, sql: string, params: unknown[]) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'run_select', arguments: { connectionId, sql, params } },
  });

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    srv = await startTestServer('postgres', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    [owner, other] = await Promise.all([signup(srv.baseUrl), signup(srv.baseUrl)]);
    const a = api(srv.baseUrl, owner.token);
    const created = await a.post<{ id: string; key: string }>(`/api/orgs/${owner.orgId}/api-keys`, {
      name: 'assistant',
    });
    apiKey = created.body.key;
    apiKeyId = created.body.id;
    otherKey = (
      await api(srv.baseUrl, other.token).post<{ key: string }>(`/api/orgs/${other.orgId}/api-keys`, {
        name: 'other',
      })
    ).body.key;
    connectionId = (
      await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/connections`, {
        name: 'warehouse',
        mode: 'cloud',
        sealed: await sealConnection(apiKey, customer.readerUrl),
      })
    ).body.id;
    client = new Client({ name: 'test-assistant', version: '1.2.3' });
    transport = new StreamableHTTPClientTransport(new URL(`${srv.baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${apiKey}`, 'x-ai-model': 'claude-test' } },
    });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    await srv?.close();
    await customer?.close();
  });

  it('MCP: user, key, client from the handshake, declared model and redacted, cut parameters', async () => {
    expect(transport.sessionId).toMatch(/^ms1\./);
    const r = await client.callTool({
      name: 'run_select',
      arguments: {
        connectionId,
        sql: 'SELECT count(*) AS n FROM customers WHERE email <> $1 AND length($2) > $3',
        params: [EMAIL, LONG, 7],
      },
    });
    expect(r.isError).toBeFalsy();
    await client.callTool({
      name: 'query_table',
      arguments: { connectionId, table: 'customers', filters: [{ column: 'email', op: 'eq', value: EMAIL }] },
    });
    const [typed, select] = await audit();
    expect(select).toMatchObject({
      tool: 'run_select',
      outcome: 'ok',
      userId: owner.userId,
      apiKeyId,
      clientName: 'test-assistant',
      clientVersion: '1.2.3',
      clientVia: null,
      declaredModel: 'claude-test',
      params: 3,
      paramValues: ['[EMAIL]', 'x'.repeat(256), 7],
    });
    expect(typed).toMatchObject({
      tool: 'query_table',
      userId: owner.userId,
      clientName: 'test-assistant',
      params: 1,
      paramValues: ['[EMAIL]'],
    });
  });

  it('the new fields are in the hash chain: the org audit verifies, and an edited client name does not', async () => {
    const a = api(srv.baseUrl, owner.token);
    const everything = await a.get(`/api/orgs/${owner.orgId}/audit?format=ndjson`);
    expect(everything.text).toContain('test-assistant');
    // Neither the address nor rows reach any audit row.
    expect(everything.text).not.toContain(EMAIL);
    expect(everything.text).not.toContain('c50@example.com');
    expect((await a.get<{ ok: boolean }>(`/api/orgs/${owner.orgId}/audit/verify`)).body.ok).toBe(true);
    // What a database superuser could do: rename the client in one stored row.
    await srv.rampart.services.db.owner(async (q) => {
      await q.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await q.query(
        `UPDATE audit_log SET meta = replace(meta, '"test-assistant"', '"someone-else"')
          WHERE org_id = $1 AND action = 'db.query' AND meta LIKE '%test-assistant%'`,
        [owner.orgId],
      );
      await q.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    });
    const verify = await a.get<{ ok: boolean; problem?: { reason: string } }>(
      `/api/orgs/${owner.orgId}/audit/verify`,
    );
    expect(verify.body).toMatchObject({ ok: false, problem: { reason: 'edited' } });
  });

  it('csv and ndjson carry the new fields', async () => {
    const a = api(srv.baseUrl, owner.token);
    const csv = await a.get(`/api/orgs/${owner.orgId}/query-audit?format=csv`);
    expect(csv.text.split('\r\n')[0]).toBe(
      'seq,at,userId,apiKeyId,declaredModel,clientName,clientVersion,clientVia,tool,connectionId,params,paramValues,rowCount,queryHash,durationMs,outcome',
    );
    expect(csv.text).toContain(owner.userId);
    expect(csv.text).toContain('"[""[EMAIL]""');
    const nd = await a.get(`/api/orgs/${owner.orgId}/query-audit?format=ndjson`);
    const rows = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as QueryAuditRow);
    expect(rows.some((e) => e.clientVersion === '1.2.3' && e.paramValues?.[0] === '[EMAIL]')).toBe(true);
    expect(nd.text).not.toContain(EMAIL);
  });

  it('a bridge names the end client, with the handshake client as via; a forged or foreign session id names none', async () => {
    const init = await mcpPost(apiKey, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'rampart-mcp-bridge', version: '0.1.0' },
      },
    });
    expect(init.status).toBe(200);
    const session = init.headers.get('mcp-session-id') ?? '';
    expect(session).toMatch(/^ms1\./);
    const bridged = await mcpPost(apiKey, runSelect(1, 'SELECT 1', []), {
      'mcp-session-id': session,
      'x-mcp-client-name': encodeURIComponent('Desktop Client é'),
      'x-mcp-client-version': '4.5',
    });
    expect(bridged.status).toBe(200);
    expect((await audit())[0]).toMatchObject({
      clientName: 'Desktop Client é',
      clientVersion: '4.5',
      clientVia: 'rampart-mcp-bridge/0.1.0',
      declaredModel: null,
    });
    // A session id whose payload was swapped, and no session id at all: no client.
    const [p, , sig] = session.split('.');
    const forged = `${p}.${Buffer.from(JSON.stringify({ k: apiKeyId, n: 'forged', v: '1' })).toString('base64url')}.${sig}`;
    expect((await mcpPost(apiKey, runSelect(2, 'SELECT 2', []), { 'mcp-session-id': forged })).status).toBe(
      200,
    );
    expect((await audit())[0]).toMatchObject({ clientName: null, clientVersion: null, clientVia: null });
  });

  it('the HTTP query route records the key creator and the redacted parameters, no client', async () => {
    const r = await api(srv.baseUrl, apiKey).request(
      'POST',
      `/api/orgs/${owner.orgId}/connections/${connectionId}/query`,
      { sql: 'SELECT id FROM customers WHERE email = $1 AND $2::text IS NULL', params: [EMAIL, LONG] },
      { 'x-ai-model': 'gpt-declared' },
    );
    expect(r.status, r.text).toBe(200);
    expect((await audit())[0]).toMatchObject({
      tool: 'run_select',
      userId: owner.userId,
      apiKeyId,
      declaredModel: 'gpt-declared',
      clientName: null,
      params: 2,
      paramValues: ['[EMAIL]', 'x'.repeat(256)],
      rowCount: 0,
    });
  });

  it('cross-tenant: another org cannot query, read or fill this query audit', async () => {
    const q = await api(srv.baseUrl, otherKey).post(
      `/api/orgs/${owner.orgId}/connections/${connectionId}/query`,
      { sql: 'SELECT 1', params: [] },
    );
    expect(q.status).toBe(404);
    const read = await api(srv.baseUrl, other.token).get(`/api/orgs/${owner.orgId}/query-audit`);
    expect(read.status).toBe(404);
    // Over MCP the other org's key does not find the connection (a tool error), and this org's session id
    // names no client for it: the other org's audit holds its own attempt only.
    const session = transport.sessionId ?? '';
    const res = await mcpPost(otherKey, runSelect(3, 'SELECT 1', [EMAIL]), { 'mcp-session-id': session });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('not_found');
    const mine = await audit();
    expect(mine.some((e) => e.apiKeyId !== apiKeyId)).toBe(false);
    expect(await audit(other)).toEqual([]);
  });
});
