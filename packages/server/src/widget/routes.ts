import { verifyHmacHex } from '@rampart/core/webhooks';
import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { ConfigError } from '../platform/config.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { ipLimitKey, isLimiterRejection, rateLimited } from '../platform/ratelimit.js';
import { applyBillingEvent, type BillingEvent, createCheckout } from './billing.js';
import { registerConversationRoutes } from './conversation-routes.js';
import { DEFAULT_CONVERSATION_RETENTION_DAYS } from './conversations.js';
import {
  type DocumentSource,
  deleteDocument,
  extractDocument,
  ingestDocument,
  listDocuments,
} from './documents.js';
import { embeddingStatus, retryEmbeddings, WidgetEmbedder } from './embedder.js';
import { MAX_DIMENSIONS, MIN_DIMENSIONS } from './embeddings.js';
import { decodeHtml } from './extract.js';
import { fetchSource } from './fetch-source.js';
import { isProduct, PLANS, PRODUCTS, type Product } from './plans.js';
import { registerWidgetPublicRoutes } from './public-routes.js';
import { billingView } from './quota.js';
import type { WidgetServices } from './services.js';
import { visitorKeys } from './visitor.js';
import {
  createWidget,
  DEFAULT_LIMITS,
  DEFAULT_MIN_SIMILARITY,
  deleteWidget,
  getWidget,
  listWidgets,
  updateWidget,
  type WidgetInput,
  widgetView,
} from './widgets.js';

const limits = z.strictObject({
  perIpPerMinute: z.number().int().min(1).max(10_000),
  perWidgetPerMinute: z.number().int().min(1).max(1_000_000),
});
const widgetShape = {
  name: z.string().trim().min(1).max(100),
  allowedOrigins: z.array(z.string().min(1).max(300)).min(1).max(50),
  systemPrompt: z.string().max(8_000),
  model: z.string().min(1).max(200),
  limits,
  embeddingModel: z.string().min(1).max(200).nullable(),
  embeddingDimensions: z.number().int().min(MIN_DIMENSIONS).max(MAX_DIMENSIONS).nullable(),
  minSimilarity: z.number().min(0).max(1),
  conversationRetentionDays: z.number().int().min(1).max(365),
};
export const widgetView_ = z.object({
  id: z.uuid(),
  name: z.string(),
  allowedOrigins: z.array(z.string()),
  systemPrompt: z.string(),
  model: z.string(),
  limits: z.object({ perIpPerMinute: z.number(), perWidgetPerMinute: z.number() }),
  embeddingModel: z.string().nullable(),
  embeddingDimensions: z.number().nullable(),
  minSimilarity: z.number(),
  conversationRetentionDays: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const embeddingStatusView = z.object({
  model: z.string().nullable(),
  dimensions: z.number().nullable(),
  total: z.number(),
  embedded: z.number(),
  failing: z.number(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
});
export const documentView = z.object({
  id: z.uuid(),
  name: z.string(),
  format: z.enum(['text', 'markdown', 'html', 'pdf']),
  bytes: z.number(),
  chunks: z.number(),
  sourceUrl: z.string().nullable(),
  createdAt: z.string(),
});
const documentName = z.string().trim().min(1).max(200);
/** A document upload: text formats as a string, a PDF as base64 (JSON carries no raw bytes). */
const documentBody = z.union([
  z.strictObject({
    name: documentName,
    format: z.enum(['text', 'markdown', 'html']).default('text'),
    content: z.string().min(1),
  }),
  z.strictObject({
    name: documentName,
    format: z.literal('pdf'),
    contentBase64: z.base64().min(1),
  }),
]);
const limitsView = z.object({ widgets: z.number(), monthlyMessages: z.number(), knowledgeBytes: z.number() });
export const billingView_ = z.object({
  plan: z.enum(Object.keys(PLANS) as [keyof typeof PLANS, ...Array<keyof typeof PLANS>]),
  limits: limitsView,
  usage: limitsView,
  messageCredits: z.number(),
});
const docParams = orgItemParams.extend({ documentId: z.uuid() });

/** A provider id: Lemon Squeezy sends numbers in attributes and strings in `data.id`. */
const providerId = z.union([z.string().min(1).max(200), z.number().int().nonnegative()]);
const webhookEvent = z.object({
  meta: z.object({
    event_name: z.string().min(1).max(100),
    custom_data: z.object({ nonce: z.string().min(16).max(200) }),
  }),
  data: z.object({
    id: providerId,
    attributes: z
      .looseObject({
        status: z.string().max(50).nullish(),
        currency: z.string().max(10).nullish(),
        subtotal: z.number().int().nullish(),
        variant_id: providerId.nullish(),
        subscription_id: providerId.nullish(),
        billing_reason: z.string().max(50).nullish(),
        ends_at: z.iso.datetime({ offset: true }).nullish(),
        updated_at: z.string().max(50).nullish(),
        first_order_item: z.looseObject({ variant_id: providerId.nullish() }).nullish(),
      })
      .default({}),
  }),
});

/** The fields the billing rules read, from the provider's JSON:API-style event. */
function billingEventOf(parsed: z.infer<typeof webhookEvent>): BillingEvent {
  const a = parsed.data.attributes;
  const name = parsed.meta.event_name;
  const str = (v: string | number | null | undefined) => (v === null || v === undefined ? null : String(v));
  return {
    name,
    nonce: parsed.meta.custom_data.nonce,
    objectId: String(parsed.data.id),
    status: a.status ?? null,
    variantId: str(a.variant_id ?? a.first_order_item?.variant_id),
    amount: a.subtotal ?? null,
    currency: a.currency ?? null,
    subscriptionId: name.startsWith('subscription_payment_')
      ? str(a.subscription_id)
      : name.startsWith('subscription_')
        ? String(parsed.data.id)
        : null,
    billingReason: a.billing_reason ?? null,
    endsAt: a.ends_at ? new Date(a.ends_at) : null,
    updatedAt: a.updated_at ?? null,
  };
}

/** Widgets, their documents, plans and billing; plus the public widget routes and the billing webhook. */
export function registerWidgetRoutes(app: App, s: WidgetServices): void {
  // Start-time check of RAMPART_BILLING_PLANS against what is sold (its shape is checked by the config loader).
  const unknownProduct = (plans: unknown) => Object.keys(plans ?? {}).find((name) => !isProduct(name));
  const bad = unknownProduct(s.config.RAMPART_BILLING_PLANS);
  if (bad)
    throw new ConfigError([
      `RAMPART_BILLING_PLANS: unknown product ${bad} (products: ${Object.keys(PRODUCTS).join(', ')})`,
    ]);
  // The same check for the operator-set platform setting, on save (and on every node's load).
  s.settings.addCheck('billing_plans', (plans) => {
    const name = unknownProduct(plans);
    if (name) throw new Error(`unknown product ${name} (products: ${Object.keys(PRODUCTS).join(', ')})`);
  });
  const keys = visitorKeys(s.jwtKeys);
  registerWidgetPublicRoutes(app, s, keys);
  // Chunks are embedded in the background on every node (widget/embedder.ts); ingest and model changes kick it.
  const embedder = new WidgetEmbedder(s, {
    pollMs: s.config.RAMPART_WIDGET_EMBED_POLL_MS,
    batch: s.config.RAMPART_WIDGET_EMBED_BATCH,
  });
  app.addHook('onReady', async () => embedder.start());
  app.addHook('preClose', async () => embedder.stop());
  registerConversationRoutes(app, s);

  app.post(
    '/api/orgs/:orgId/widgets',
    {
      config: { orgAction: 'widgets.write' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: 'Create a chat widget (within the plan limit: 429 quota_exceeded beyond)',
        params: orgParams,
        body: z.strictObject({
          ...widgetShape,
          systemPrompt: widgetShape.systemPrompt.default(''),
          limits: limits.default(DEFAULT_LIMITS),
          embeddingModel: widgetShape.embeddingModel.default(null),
          embeddingDimensions: widgetShape.embeddingDimensions.default(null),
          minSimilarity: widgetShape.minSimilarity.default(DEFAULT_MIN_SIMILARITY),
          conversationRetentionDays: widgetShape.conversationRetentionDays.default(
            DEFAULT_CONVERSATION_RETENTION_DAYS,
          ),
        }),
        response: { 201: widgetView_ },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const view = await s.db.org(access.orgId, (q) =>
        createWidget(q, actorOf(request), access.orgId, request.body),
      );
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ widgets: z.array(widgetView_) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { widgets: await s.db.org(access.orgId, (q) => listWidgets(q, access.orgId)) };
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id',
    {
      config: { orgAction: 'widgets.read' },
      schema: { tags: ['widget'], security: bearer, params: orgItemParams, response: { 200: widgetView_ } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return widgetView(await s.db.org(access.orgId, (q) => getWidget(q, access.orgId, request.params.id)));
    },
  );

  app.patch(
    '/api/orgs/:orgId/widgets/:id',
    {
      config: { orgAction: 'widgets.write' },
      schema: {
        tags: ['widget'],
        security: bearer,
        params: orgItemParams,
        body: z.strictObject(widgetShape).partial(),
        response: { 200: widgetView_ },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const view = await s.db.org(access.orgId, (q) =>
        updateWidget(
          q,
          actorOf(request),
          access.orgId,
          request.params.id,
          request.body as Partial<WidgetInput>,
        ),
      );
      if (request.body.embeddingModel !== undefined || request.body.embeddingDimensions !== undefined)
        embedder.kick();
      await s.orgChanged(access.orgId); // cached public lookups (origins, limits) are dropped on every node
      return view;
    },
  );

  app.delete(
    '/api/orgs/:orgId/widgets/:id',
    {
      config: { orgAction: 'widgets.write' },
      schema: { tags: ['widget'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) => deleteWidget(q, actorOf(request), access.orgId, request.params.id));
      await s.orgChanged(access.orgId);
      return { ok: true as const };
    },
  );

  // A PDF travels as base64 in JSON: 4/3 of the document limit, plus room for the name, and never below the
  // general body limit.
  const maxDoc = s.config.RAMPART_WIDGET_DOCUMENT_MAX_BYTES;
  const documentBodyLimit = Math.max(
    s.config.RAMPART_BODY_LIMIT_BYTES,
    Math.ceil(maxDoc / 3) * 4 + 64 * 1024,
  );
  /** 404 for another org's (or a deleted) widget, before any extraction or fetch is spent on it. */
  const requireWidget = (orgId: string, widgetId: string) =>
    s.db.org(orgId, (q) => getWidget(q, orgId, widgetId));

  app.post(
    '/api/orgs/:orgId/widgets/:id/documents',
    {
      config: { orgAction: 'widgets.write' },
      bodyLimit: documentBodyLimit,
      schema: {
        tags: ['widget'],
        security: bearer,
        summary:
          'Add a document to the widget knowledge base: text, markdown or HTML in `content`, a PDF in `contentBase64`. HTML and PDF are stored as their extracted text; its bytes are reserved against the plan in the same transaction that stores its chunks',
        params: orgItemParams,
        body: documentBody,
        response: { 201: documentView },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const body = request.body;
      let source: DocumentSource;
      if ('contentBase64' in body) {
        const bytes = Buffer.from(body.contentBase64, 'base64');
        if (bytes.length > maxDoc)
          throw new AppError('payload_too_large', `A document may hold at most ${maxDoc} bytes`);
        source = { format: 'pdf', bytes };
      } else {
        if (Buffer.byteLength(body.content, 'utf8') > maxDoc)
          throw new AppError('payload_too_large', `A document may hold at most ${maxDoc} bytes`);
        if (body.content.includes('\u0000'))
          throw new AppError('validation_failed', 'content must be text (it contains a NUL character)');
        source = { format: body.format, text: body.content };
      }
      if (source.format === 'pdf' || source.format === 'html')
        await requireWidget(access.orgId, request.params.id);
      const { content } = await extractDocument(source, maxDoc);
      const view = await s.db.org(access.orgId, (q) =>
        ingestDocument(q, actorOf(request), access.orgId, request.params.id, {
          name: body.name,
          format: source.format,
          content,
        }),
      );
      embedder.kick();
      return reply.code(201).send(view);
    },
  );

  app.post(
    '/api/orgs/:orgId/widgets/:id/documents/from-url',
    {
      config: { orgAction: 'widgets.write' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary:
          'Fetch a web page (or a PDF) through the outbound guard and add its extracted text to the widget knowledge base: public http(s) addresses only, at most RAMPART_WIDGET_DOCUMENT_MAX_BYTES, 3 redirects, 15 s',
        params: orgItemParams,
        body: z.strictObject({ url: z.string().trim().min(1).max(2048), name: documentName.optional() }),
        response: { 201: documentView },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      await requireWidget(access.orgId, request.params.id);
      const { url, name } = request.body;
      const page = await fetchSource(s.outbound, s.outboundPolicy, url, maxDoc);
      const source: DocumentSource =
        page.kind === 'pdf'
          ? { format: 'pdf', bytes: page.bytes }
          : { format: 'html', text: decodeHtml(page.bytes, page.contentType) };
      const { content, title } = await extractDocument(source, maxDoc);
      const sourceUrl = new URL(url).toString();
      const view = await s.db.org(access.orgId, (q) =>
        ingestDocument(q, actorOf(request), access.orgId, request.params.id, {
          name: name ?? title ?? sourceUrl.slice(0, 200),
          format: source.format,
          content,
          sourceUrl,
        }),
      );
      embedder.kick();
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id/documents',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        params: orgItemParams,
        response: { 200: z.object({ documents: z.array(documentView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return {
        documents: await s.db.org(access.orgId, (q) => listDocuments(q, access.orgId, request.params.id)),
      };
    },
  );

  app.delete(
    '/api/orgs/:orgId/widgets/:id/documents/:documentId',
    {
      config: { orgAction: 'widgets.write' },
      schema: { tags: ['widget'], security: bearer, params: docParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) =>
        deleteDocument(q, actorOf(request), access.orgId, request.params.id, request.params.documentId),
      );
      return { ok: true as const };
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id/embeddings',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary:
          "Embedding progress: chunks carrying the widget's current model, failures waiting for a retry",
        params: orgItemParams,
        response: { 200: embeddingStatusView },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) => embeddingStatus(q, access.orgId, request.params.id));
    },
  );

  app.post(
    '/api/orgs/:orgId/widgets/:id/embeddings/retry',
    {
      config: { orgAction: 'widgets.write' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: 'Retry failed embeddings now instead of after their back-off',
        params: orgItemParams,
        response: { 200: z.object({ retried: z.number() }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const retried = await s.db.org(access.orgId, (q) =>
        retryEmbeddings(q, access.orgId, request.params.id),
      );
      embedder.kick();
      return { retried };
    },
  );

  app.get(
    '/api/orgs/:orgId/billing',
    {
      config: { orgAction: 'billing.read' },
      schema: { tags: ['billing'], security: bearer, params: orgParams, response: { 200: billingView_ } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) => billingView(q, access.orgId, new Date()));
    },
  );

  app.post(
    '/api/orgs/:orgId/billing/checkout',
    {
      config: { orgAction: 'billing.manage' },
      schema: {
        tags: ['billing'],
        security: bearer,
        summary: 'Start a checkout: a one-time nonce bound to this org and product, valid 24 h',
        params: orgParams,
        body: z.strictObject({ plan: z.enum(Object.keys(PRODUCTS) as [Product, ...Product[]]) }),
        response: { 200: z.object({ nonce: z.string(), checkoutUrl: z.string() }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const billing = s.settings.current();
      if (!billing.RAMPART_BILLING_WEBHOOK_SECRET)
        throw new AppError('service_unavailable', 'Billing is not configured on this server');
      // Each product its own checkout URL, so the product paid for is the one the nonce names.
      const product = billing.RAMPART_BILLING_PLANS?.[request.body.plan];
      if (!product) throw new AppError('service_unavailable', 'This product is not for sale on this server');
      return s.db.org(access.orgId, (q) =>
        createCheckout(q, actorOf(request), access.orgId, request.body.plan, product.checkoutUrl, new Date()),
      );
    },
  );

  // Rejected webhook calls per client address per minute. Only rejections count (a genuine, signed event is
  // never refused because someone else sent forgeries), and only those within the budget are audited: beyond it
  // the answer is 429 and nothing is written, so a flood of forgeries cannot grow the platform chain.
  const rejectedWebhooks = s.limiters.create(
    'billing:webhook:rejected',
    s.config.RAMPART_BILLING_REJECTS_PER_IP_PER_MINUTE,
    60,
  );

  // The webhook needs the exact bytes that were signed: a scope of its own that keeps every body as a Buffer.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/webhooks/billing',
      {
        schema: {
          tags: ['billing'],
          summary:
            'Payment provider webhook: HMAC-SHA256 of the raw body (hex) in x-signature; meta.custom_data.nonce consumed once',
          response: { 200: z.object({ ok: z.literal(true), outcome: z.enum(['applied', 'ignored']) }) },
        },
      },
      async (request) => {
        const billing = s.settings.current();
        const secret = billing.RAMPART_BILLING_WEBHOOK_SECRET;
        if (!secret) throw new AppError('service_unavailable', 'Billing is not configured on this server');
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const actor = actorOf(request);
        const reject = async (reason: string, orgId: string | null) => {
          request.log.warn({ reason }, 'billing webhook rejected');
          try {
            await rejectedWebhooks.consume(ipLimitKey(request.ip), 1);
          } catch (err) {
            if (isLimiterRejection(err))
              throw rateLimited(err.msBeforeNext, 'Too many rejected webhook calls from this address');
            return; // the counter store is down: the call is still refused, but not written to the chain
          }
          await s.db.tx({ orgId, platform: orgId === null }, (q) =>
            appendAudit(q, actor, {
              orgId,
              action: 'billing.webhook_rejected',
              target: null,
              meta: { reason },
            }),
          );
        };
        if (!verifyHmacHex(secret, raw, request.headers['x-signature'])) {
          await reject('invalid_signature', null);
          throw new AppError('invalid_signature', 'The webhook signature does not verify');
        }
        let parsed: z.infer<typeof webhookEvent>;
        try {
          parsed = webhookEvent.parse(JSON.parse(raw.toString('utf8')));
        } catch {
          await reject('malformed', null);
          throw new AppError('validation_failed', 'The webhook body is not a billing event with a nonce');
        }
        const outcome = await applyBillingEvent(s.db, actor, billingEventOf(parsed), new Date(), {
          products: billing.RAMPART_BILLING_PLANS,
          graceDays: s.config.RAMPART_BILLING_GRACE_DAYS,
        });
        if (outcome.status === 'unknown_nonce') {
          await reject('unknown_nonce', null);
          throw new AppError('validation_failed', 'The nonce is unknown');
        }
        if (outcome.status === 'replayed') throw new AppError('replayed', 'This event was already processed');
        if (outcome.status === 'mismatch')
          throw new AppError(
            'billing_mismatch',
            `The event does not match the checkout's product (${outcome.reason}); nothing was changed`,
          );
        if (outcome.status === 'applied') await s.orgChanged(outcome.orgId);
        return { ok: true as const, outcome: outcome.status };
      },
    );
  });
}
