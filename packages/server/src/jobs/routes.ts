import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { can, type Role } from '../platform/permissions.js';
import { take } from '../platform/ratelimit.js';
import { createChannel, deleteChannel, getChannel, listChannels } from './channels.js';
import { nextRuns } from './schedule.js';
import type { JobsServices } from './services.js';
import {
  createJob,
  DEFAULTS,
  deleteJob,
  getJob,
  type JobFields,
  type JobView,
  listJobs,
  listRuns,
  METHODS,
  queueRun,
  updateJob,
} from './store.js';

const MAX_HEADERS = 50;
const headers = z
  .record(z.string().min(1).max(100), z.string().max(8_192))
  .refine((h) => Object.keys(h).length <= MAX_HEADERS, `at most ${MAX_HEADERS} headers`);
const auth = z.strictObject({ type: z.enum(['bearer', 'basic']), value: z.string().min(1).max(4_096) });
const jobShape = {
  name: z.string().trim().min(1).max(100),
  schedule: z.string().min(9).max(200),
  timezone: z.string().min(1).max(64),
  url: z.string().min(8).max(2_000),
  method: z.enum(METHODS),
  headers,
  auth: auth.nullable(),
  body: z.string().max(65_536).nullable(),
  timeoutMs: z.number().int().min(100).max(120_000),
  retries: z.number().int().min(0).max(10),
  storeResponse: z.boolean(),
  retentionDays: z.number().int().min(1).max(3_650).nullable(),
  alertChannelIds: z.array(z.uuid()).max(20),
  alertAfter: z.number().int().min(1).max(100),
  enabled: z.boolean(),
};
const createBody = z.strictObject({
  ...jobShape,
  timezone: jobShape.timezone.default(DEFAULTS.timezone),
  method: jobShape.method.default('GET'),
  headers: headers.default({}),
  auth: jobShape.auth.default(null),
  body: jobShape.body.default(null),
  timeoutMs: jobShape.timeoutMs.default(DEFAULTS.timeoutMs),
  retries: jobShape.retries.default(DEFAULTS.retries),
  storeResponse: jobShape.storeResponse.default(false),
  retentionDays: jobShape.retentionDays.default(null),
  alertChannelIds: jobShape.alertChannelIds.default([]),
  alertAfter: jobShape.alertAfter.default(DEFAULTS.alertAfter),
  enabled: jobShape.enabled.default(true),
});
const patchBody = z.strictObject(jobShape).partial();

export const jobView = z.object({
  id: z.uuid(),
  name: z.string(),
  schedule: z.string(),
  timezone: z.string(),
  url: z.string(),
  method: z.enum(METHODS),
  headers: z.record(z.string(), z.string()).describe('values masked; env: references shown as written'),
  auth: z.object({ type: z.enum(['bearer', 'basic']), value: z.string().describe('masked') }).nullable(),
  body: z.string().nullable(),
  timeoutMs: z.number(),
  retries: z.number(),
  storeResponse: z.boolean(),
  retentionDays: z.number().nullable(),
  alertChannelIds: z.array(z.string()),
  alertAfter: z.number(),
  enabled: z.boolean(),
  nextRunAt: z.string().nullable(),
  consecutiveFailures: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  upcoming: z.array(z.string()).optional().describe('the next five fire times (single-job reads only)'),
});
export const runView = z.object({
  id: z.uuid(),
  trigger: z.enum(['schedule', 'manual']),
  scheduledFor: z.string(),
  startedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  httpStatus: z.number().nullable(),
  attempts: z.number(),
  error: z.string().nullable(),
  snippet: z
    .string()
    .optional()
    .describe('first 2 KB of the response, PII-redacted; only with storeResponse'),
});
export const channelView = z.object({
  id: z.uuid(),
  type: z.enum(['webhook', 'slack', 'teams', 'email']),
  name: z.string(),
  config: z.record(z.string(), z.unknown()).describe('secret fields masked'),
  createdAt: z.string(),
});
const channelBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().trim().min(1).max(100),
    config: z.strictObject({ url: z.string().min(8).max(2_000), secret: z.string().max(200).optional() }),
  }),
  z.strictObject({
    type: z.literal('slack'),
    name: z.string().trim().min(1).max(100),
    config: z.strictObject({ webhookUrl: z.string().min(8).max(2_000) }),
  }),
  z.strictObject({
    type: z.literal('teams'),
    name: z.string().trim().min(1).max(100),
    config: z.strictObject({
      webhookUrl: z
        .string()
        .min(8)
        .max(2_000)
        .describe(
          'https URL of a Teams incoming webhook (*.webhook.office.com) or Workflows trigger (*.logic.azure.com, *.powerplatform.com); sealed, shown masked',
        ),
    }),
  }),
  z.strictObject({
    type: z.literal('email'),
    name: z.string().trim().min(1).max(100),
    config: z.strictObject({ to: z.array(z.email().max(254)).min(1).max(20) }),
  }),
]);

/** Whether the caller may set env: references and keep credentials across an origin change. */
const callerOf = (role: Role) => ({ writeSecrets: can(role, 'secrets.write') });

const withUpcoming = (v: JobView) => ({
  ...v,
  upcoming: v.enabled ? nextRuns(v, 5, new Date()).map((d) => d.toISOString()) : [],
});

/** Scheduled HTTP jobs, their run history, and alert channels. */
export function registerJobRoutes(app: App, s: JobsServices): void {
  const rules = {
    envAllow: s.config.RAMPART_JOB_ENV_ALLOW,
    outboundPolicy: s.outboundPolicy,
    maxPerOrg: s.config.RAMPART_JOB_MAX_PER_ORG,
  };
  // Manual runs are outbound requests on demand: a per-org budget keeps one org from queueing a flood.
  const manualRuns = s.limiters.create('jobs:run:org', s.config.RAMPART_JOB_MANUAL_RUNS_PER_MINUTE, 60);

  app.post(
    '/api/orgs/:orgId/jobs',
    {
      config: { orgAction: 'jobs.write' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        summary: 'Create a scheduled HTTP job; header and auth values are sealed and shown masked afterwards',
        params: orgParams,
        body: createBody,
        response: { 201: jobView },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const view = await s.db.org(access.orgId, (q) =>
        createJob(
          q,
          s.ring,
          rules,
          actorOf(request),
          access.orgId,
          request.body as JobFields,
          new Date(),
          callerOf(access.role),
        ),
      );
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/orgs/:orgId/jobs',
    {
      config: { orgAction: 'jobs.read' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ jobs: z.array(jobView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { jobs: await s.db.org(access.orgId, (q) => listJobs(q, access.orgId)) };
    },
  );

  app.get(
    '/api/orgs/:orgId/jobs/:id',
    {
      config: { orgAction: 'jobs.read' },
      schema: { tags: ['jobs'], security: bearer, params: orgItemParams, response: { 200: jobView } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const v = await s.db.org(access.orgId, (q) => getJob(q, access.orgId, request.params.id));
      return withUpcoming(v);
    },
  );

  app.patch(
    '/api/orgs/:orgId/jobs/:id',
    {
      config: { orgAction: 'jobs.write' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        summary:
          'Update a job; headers and auth, when given, replace the stored values whole. Moving the URL to another origin drops the stored headers and auth unless the caller may write secrets (owner, admin)',
        params: orgItemParams,
        body: patchBody,
        response: { 200: jobView },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) =>
        updateJob(
          q,
          s.ring,
          rules,
          actorOf(request),
          access.orgId,
          request.params.id,
          request.body as Partial<JobFields>,
          new Date(),
          callerOf(access.role),
        ),
      );
    },
  );

  app.delete(
    '/api/orgs/:orgId/jobs/:id',
    {
      config: { orgAction: 'jobs.write' },
      schema: { tags: ['jobs'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) => deleteJob(q, actorOf(request), access.orgId, request.params.id));
      return { ok: true as const };
    },
  );

  app.post(
    '/api/orgs/:orgId/jobs/:id/run',
    {
      config: { orgAction: 'jobs.run' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        summary:
          'Queue a run now; any runner node picks it up within a poll interval. Limited per org (RAMPART_JOB_MANUAL_RUNS_PER_MINUTE): 429 rate_limited with Retry-After beyond',
        params: orgItemParams,
        response: { 202: z.object({ id: z.uuid(), status: z.literal('queued') }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      await take(manualRuns, access.orgId, 'Too many manual runs for this org');
      const run = await s.db.org(access.orgId, (q) =>
        queueRun(q, actorOf(request), access.orgId, request.params.id, new Date()),
      );
      s.jobRunner.kick();
      return reply.code(202).send(run);
    },
  );

  app.get(
    '/api/orgs/:orgId/jobs/:id/runs',
    {
      config: { orgAction: 'jobs.read' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        summary: 'Run history, newest first; page with ?before=<scheduledFor of the last run seen>',
        params: orgItemParams,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          before: z.iso.datetime({ offset: true }).optional(),
        }),
        response: { 200: z.object({ runs: z.array(runView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const { limit, before } = request.query;
      const runs = await s.db.org(access.orgId, (q) =>
        listRuns(q, access.orgId, request.params.id, {
          limit,
          before: before ? new Date(before) : undefined,
        }),
      );
      return { runs };
    },
  );

  app.post(
    '/api/orgs/:orgId/alert-channels',
    {
      config: { orgAction: 'alerts.write' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        summary:
          'Create an alert channel (webhook, slack, teams, email); secret fields are sealed. A webhook channel without a secret gets a generated whsec_ secret, returned once as `secret`.',
        params: orgParams,
        body: channelBody,
        response: { 201: channelView.extend({ secret: z.string().optional() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const { view, revealedSecret } = await s.db.org(access.orgId, (q) =>
        createChannel(q, s.ring, s.outboundPolicy, actorOf(request), access.orgId, request.body),
      );
      return reply.code(201).send(revealedSecret ? { ...view, secret: revealedSecret } : view);
    },
  );

  app.get(
    '/api/orgs/:orgId/alert-channels',
    {
      config: { orgAction: 'alerts.read' },
      schema: {
        tags: ['jobs'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ channels: z.array(channelView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { channels: await s.db.org(access.orgId, (q) => listChannels(q, access.orgId)) };
    },
  );

  app.get(
    '/api/orgs/:orgId/alert-channels/:id',
    {
      config: { orgAction: 'alerts.read' },
      schema: { tags: ['jobs'], security: bearer, params: orgItemParams, response: { 200: channelView } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) => getChannel(q, access.orgId, request.params.id));
    },
  );

  app.delete(
    '/api/orgs/:orgId/alert-channels/:id',
    {
      config: { orgAction: 'alerts.write' },
      schema: { tags: ['jobs'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) =>
        deleteChannel(q, actorOf(request), access.orgId, request.params.id),
      );
      return { ok: true as const };
    },
  );
}
