import type { KeyRing } from '@rampart/core/seal';
import type { SessionKeyRing } from '@rampart/core/tokens';
import type { DestinationStream, Logger } from 'pino';
import { analyzeIfEmbedded } from './db/analyze.js';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import type { EngineName } from './db/types.js';
import { AgentHub } from './dbaccess/agent-hub.js';
import { registerMcpRoutes } from './dbaccess/mcp.js';
import { registerDbAccessRoutes } from './dbaccess/routes.js';
import type { DbAccessServices } from './dbaccess/services.js';
import { GatewayLimits } from './gateway/limits.js';
import { RoutingCache } from './gateway/route-cache.js';
import { registerGatewayRoutes } from './gateway/routes.js';
import type { GatewayServices } from './gateway/services.js';
import { registerAccountRoutes } from './identity/accounts/action-routes.js';
import { sweepAccountEvents } from './identity/accounts/events.js';
import { sweepRefreshFamilies } from './identity/accounts/refresh.js';
import { registerIdentityRoutes } from './identity/accounts/routes.js';
import { LoginThrottle } from './identity/accounts/throttle.js';
import { registerVerificationRoutes } from './identity/accounts/verification-routes.js';
import { Authenticator } from './identity/authenticate.js';
import { registerCredentialRoutes } from './identity/credential-routes.js';
import { registerDeviceRoutes } from './identity/device/routes.js';
import { registerOidcRoutes } from './identity/oidc/routes.js';
import { registerJobRoutes } from './jobs/routes.js';
import { JobRunner } from './jobs/runner.js';
import type { JobsServices } from './jobs/services.js';
import { registerMailAdminRoutes } from './mail/admin-routes.js';
import { LiveMailer } from './mail/live-mailer.js';
import { registerNoticeRoutes } from './mail/notice-routes.js';
import { MailWorker } from './mail/worker.js';
import { AuditBatcher } from './platform/audit/batcher.js';
import { type Bus, createBus } from './platform/bus.js';
import { bcryptCost, type Config } from './platform/config.js';
import { type App, createHttpServer } from './platform/http.js';
import { Invalidations } from './platform/invalidation.js';
import { resolveKeyMaterial } from './platform/keys.js';
import { createLogger, type LogFiles, openLogFiles } from './platform/logger.js';
import type { Mailer } from './platform/mailer.js';
import { OperatorAlerts } from './platform/operator-alerts.js';
import { type OrgRoute, trackOrgRoutes } from './platform/org-routes.js';
import { guardedAgent } from './platform/outbound/dispatcher.js';
import { parsePolicy } from './platform/outbound/policy.js';
import { createLimiterFactory } from './platform/ratelimit.js';
import { PlatformSettings } from './platform/settings.js';
import { registerSecretRoutes } from './secrets/routes.js';
import { registerSkillRoutes } from './skills/routes.js';
import { TelemetrySweeper } from './skills/telemetry.js';
import { registerAdminRoutes } from './tenancy/admin-routes.js';
import { registerAuditRoutes } from './tenancy/audit-routes.js';
import { registerInvitationRoutes } from './tenancy/invitation-routes.js';
import { registerPlatformSettingsRoutes } from './tenancy/platform-settings-routes.js';
import { registerTenancyRoutes } from './tenancy/routes.js';
import { registerAuditSinkRoutes } from './tenancy/sinks/routes.js';
import { AuditSinkWorker } from './tenancy/sinks/worker.js';
import { registerSupportRoutes } from './tenancy/support-routes.js';
import { VERSION } from './version.js';
import { registerWebRoutes } from './web/routes.js';
import { registerSecurityTxt } from './web/security-txt.js';
import { sweepConversations } from './widget/conversations.js';
import { registerWidgetRoutes } from './widget/routes.js';
import type { WidgetServices } from './widget/services.js';
import { PublicWidgetCache } from './widget/visits.js';

export { VERSION };

/** Everything a request handler may need, passed explicitly (no hidden globals). */
export interface Services extends DbAccessServices, GatewayServices, JobsServices, WidgetServices {
  config: Config;
  db: Database;
  ring: KeyRing;
  /** Session (JWT) keys: the first signs, every key verifies (RAMPART_JWT_SECRETS / RAMPART_JWT_SECRET). */
  jwtKeys: SessionKeyRing;
  logger: Logger;
  /** The mail outbox's delivery worker on this node. */
  mailWorker: MailWorker;
  /** Messages between this deployment's nodes (platform/bus.ts). */
  bus: Bus;
  /** Streams each org's audit log to its sinks from this node. */
  auditSinkWorker: AuditSinkWorker;
}

export interface Rampart {
  app: App;
  services: Services;
  engine: EngineName;
  /** Every `/api/orgs/:orgId` route with the action it declares (`config.orgAction`): what requireOrg checks. */
  orgRoutes: readonly OrgRoute[];
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export interface CreateOptions {
  config: Config;
  /** Tests capture logs here. */
  logDestination?: DestinationStream;
  /** How queued mail leaves this node; defaults to SMTP when RAMPART_SMTP_URL is set, else the log mailer. */
  mailer?: Mailer;
  /** Tests: in-memory PGlite (nothing written to RAMPART_DATA_DIR), optionally from a migrated snapshot. */
  ephemeral?: { pgliteSnapshot?: Blob };
}

/**
 * Builds a ready-to-listen Rampart: key material, database (migrated, role checked), HTTP server with every
 * surface's routes. Does not listen; call `app.listen()`.
 * @throws ConfigError for missing production keys; Error for unsafe database roles
 */
export async function createRampart(opts: CreateOptions): Promise<Rampart> {
  const { config } = opts;
  // First, so a bad RAMPART_LOG_DIR refuses to start before anything (keys, database) is touched.
  const logFiles = config.RAMPART_LOG_DIR
    ? await openLogFiles({ dir: config.RAMPART_LOG_DIR, retentionDays: config.RAMPART_LOG_RETENTION_DAYS })
    : undefined;
  const logger = createLogger({
    level: config.LOG_LEVEL ?? (config.NODE_ENV === 'test' ? 'silent' : 'info'),
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
    ...(logFiles ? { files: logFiles.stream } : {}),
  });
  try {
    return await assemble(opts, logger, logFiles);
  } catch (err) {
    await logFiles?.close();
    throw err;
  }
}

async function assemble(
  opts: CreateOptions,
  logger: Logger,
  logFiles: LogFiles | undefined,
): Promise<Rampart> {
  const { config } = opts;
  const keys = resolveKeyMaterial(config);
  for (const w of keys.warnings) {
    logger.warn(`SECURITY WARNING: ${w}`);
    // Loud even when logs are quiet (LOG_LEVEL=error) or shipped elsewhere.
    if (config.NODE_ENV !== 'test') process.stderr.write(`\n  SECURITY WARNING: ${w}\n\n`);
  }

  if (config.NODE_ENV === 'production' && !config.RAMPART_PUBLIC_URL) {
    const w =
      'RAMPART_PUBLIC_URL is not set: e-mailed links, OIDC redirect URIs, security.txt and cookie Secure flags use http://HOST:PORT';
    logger.warn(`SECURITY WARNING: ${w}`);
    process.stderr.write(`\n  SECURITY WARNING: ${w}\n\n`);
  }
  if (config.NODE_ENV === 'production' && !config.RAMPART_SECURITY_CONTACT.length) {
    const w =
      'RAMPART_SECURITY_CONTACT is not set: /.well-known/security.txt names security@<public host>, which may not reach anyone';
    logger.warn(`SECURITY WARNING: ${w}`);
    process.stderr.write(`\n  SECURITY WARNING: ${w}\n\n`);
  }
  const { db, migrations } = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    maxConnections: config.RAMPART_DB_POOL_MAX,
    dataDir: opts.ephemeral ? undefined : config.RAMPART_DATA_DIR,
    ...(opts.ephemeral?.pgliteSnapshot ? { pgliteSnapshot: opts.ephemeral.pgliteSnapshot } : {}),
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'database migrations applied');

  let bus: Bus;
  try {
    bus = await createBus({
      redisUrl: config.REDIS_URL,
      databaseUrl: config.DATABASE_URL,
      notify: (channel, payloads) =>
        db.platform(async (q) => {
          await q.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
        }),
      logger,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const invalidations = new Invalidations(bus, logger, keys.ring);
  try {
    await invalidations.start();
  } catch (err) {
    await bus.close();
    await db.close();
    throw err;
  }
  const settings = new PlatformSettings(db, keys.ring, config, logger);
  try {
    await settings.start(invalidations);
  } catch (err) {
    await bus.close();
    await db.close();
    throw err;
  }
  const limiters = createLimiterFactory(config.REDIS_URL);
  if (!opts.mailer && !settings.current().RAMPART_SMTP_URL && config.NODE_ENV === 'production') {
    const w =
      'RAMPART_SMTP_URL is not set: no e-mail is sent (password resets, verification links, invitations, security notices and e-mail alerts are marked failed, see rampart admin mail list; the log shows only their subjects)';
    logger.warn(`SECURITY WARNING: ${w}`);
    process.stderr.write(`\n  WARNING: ${w}\n\n`);
  }
  const outboundPolicy = parsePolicy(config.RAMPART_OUTBOUND_ALLOW);
  const outbound = guardedAgent({
    policy: outboundPolicy,
    ...(config.RAMPART_OUTBOUND_CA ? { extraCa: config.RAMPART_OUTBOUND_CA } : {}),
  });
  const operatorAlerts = new OperatorAlerts({ settings, outbound, policy: outboundPolicy, logger });
  const routing = new RoutingCache();
  invalidations.on('routing', (orgId) => routing.invalidate(orgId));
  invalidations.on('org', (orgId) => routing.invalidate(orgId));
  invalidations.onReset(() => routing.clear());
  const limits = new GatewayLimits({ db, redisUrl: config.REDIS_URL, logger });
  invalidations.on('routing', (orgId) => limits.invalidate(orgId));
  invalidations.on('org', (orgId) => limits.invalidate(orgId));
  invalidations.onReset(() => limits.clear());
  const publicWidgets = new PublicWidgetCache();
  invalidations.on('routing', (orgId) => publicWidgets.invalidateOrg(orgId));
  invalidations.on('org', (orgId) => publicWidgets.invalidateOrg(orgId));
  invalidations.onReset(() => publicWidgets.clear());
  const usageAudit = new AuditBatcher(db, logger);
  const mailer =
    opts.mailer ??
    new LiveMailer({
      url: () => settings.current().RAMPART_SMTP_URL,
      from: config.RAMPART_MAIL_FROM,
      logger,
      production: config.NODE_ENV === 'production',
    });
  const mailWorker = new MailWorker({
    db,
    ring: keys.ring,
    transport: mailer,
    logger,
    maxAttempts: config.RAMPART_MAIL_MAX_ATTEMPTS,
    retryBaseMs: config.RAMPART_MAIL_RETRY_BASE_MS,
    retryMaxMs: config.RAMPART_MAIL_RETRY_MAX_MS,
    pollMs: config.RAMPART_MAIL_POLL_MS,
    retentionDays: config.RAMPART_MAIL_RETENTION_DAYS,
  });
  const auditSinkWorker = new AuditSinkWorker({
    db,
    ring: keys.ring,
    logger,
    transport: {
      outbound,
      policy: outboundPolicy,
      extraCa: config.RAMPART_OUTBOUND_CA,
      timeoutMs: 30_000,
      userAgent: `Rampart/${VERSION} audit-sink`,
    },
    pollMs: config.RAMPART_AUDIT_SINK_POLL_MS,
    batch: config.RAMPART_AUDIT_SINK_BATCH,
    retryBaseMs: config.RAMPART_AUDIT_SINK_RETRY_BASE_MS,
    retryMaxMs: config.RAMPART_AUDIT_SINK_RETRY_MAX_MS,
    anchorMs: config.RAMPART_AUDIT_ANCHOR_MS,
  });
  const jobRunner = new JobRunner({
    db,
    ring: keys.ring,
    logger,
    outbound,
    outboundPolicy,
    envAllow: config.RAMPART_JOB_ENV_ALLOW,
    pollMs: config.RAMPART_JOB_POLL_MS,
    concurrency: config.RAMPART_JOB_CONCURRENCY,
    maxInFlightPerOrg: config.RAMPART_JOB_MAX_INFLIGHT_PER_ORG,
    retryBaseMs: config.RAMPART_JOB_RETRY_BASE_MS,
    retryMaxMs: config.RAMPART_JOB_RETRY_MAX_MS,
    sweepMs: config.RAMPART_JOB_SWEEP_MS,
    version: VERSION,
  });
  const agentHub = new AgentHub(db, logger, {
    handshakeTimeoutMs: config.RAMPART_AGENT_HANDSHAKE_TIMEOUT_MS,
    maxPendingPerIp: config.RAMPART_AGENT_HANDSHAKES_PER_IP,
    pingIntervalMs: config.RAMPART_AGENT_PING_MS,
    bus,
    ring: keys.ring,
  });
  const telemetrySweeper = new TelemetrySweeper(
    db,
    config.RAMPART_TELEMETRY_RETENTION_DAYS,
    config.RAMPART_TELEMETRY_SWEEP_MS,
    logger,
  );
  const auth = new Authenticator(db, keys.jwtKeys);
  auth.useInvalidations(invalidations);
  const services: Services = {
    jobRunner,
    agentHub,
    routing,
    publicWidgets,
    usageAudit,
    limits,
    orgChanged: (orgId) => invalidations.announce('routing', orgId),
    outbound,
    outboundPolicy,
    config,
    db,
    ring: keys.ring,
    jwtKeys: keys.jwtKeys,
    logger,
    auth,
    mailer,
    mailWorker,
    auditSinkWorker,
    bus,
    throttle: new LoginThrottle(limiters),
    limiters,
    settings,
    operatorAlerts,
    bcryptCost: bcryptCost(config),
    publicUrl: config.RAMPART_PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`,
  };
  let app: App;
  let orgRoutes: readonly OrgRoute[];
  try {
    app = await createHttpServer({
      logger,
      bodyLimit: config.RAMPART_BODY_LIMIT_BYTES,
      requestTimeoutMs: config.RAMPART_REQUEST_TIMEOUT_MS,
      trustProxy: config.RAMPART_TRUST_PROXY,
      version: VERSION,
    });
    // First: every org route registered below must declare its config.orgAction, or startup fails here.
    orgRoutes = trackOrgRoutes(app);
    registerIdentityRoutes(app, services);
    registerTenancyRoutes(app, services);
    registerInvitationRoutes(app, services);
    registerVerificationRoutes(app, services);
    registerCredentialRoutes(app, services);
    registerDeviceRoutes(app, services);
    registerOidcRoutes(app, services);
    registerAccountRoutes(app, services);
    registerSecretRoutes(app, services);
    registerAuditRoutes(app, services);
    registerAuditSinkRoutes(app, services);
    registerAdminRoutes(app, services);
    registerSupportRoutes(app, services);
    registerPlatformSettingsRoutes(app, services);
    registerMailAdminRoutes(app, services);
    registerNoticeRoutes(app, services);
    registerGatewayRoutes(app, services);
    registerJobRoutes(app, services);
    registerWidgetRoutes(app, services);
    registerDbAccessRoutes(app, services);
    registerMcpRoutes(app, services);
    registerSkillRoutes(app, services);
    await registerWebRoutes(app, config, VERSION, settings);
    registerSecurityTxt(app, config, services.publicUrl, settings);
    agentHub.attach(app.server);
    app.addHook('onReady', async () => agentHub.start());
    // Before the HTTP server closes: it waits for every socket it accepted, upgraded agent sockets included,
    // so a connected agent would hold a graceful shutdown open until the hard stop.
    app.addHook('preClose', async () => agentHub.close());
    if (config.RAMPART_JOB_RUNNER === 'on') app.addHook('onReady', async () => jobRunner.start());
    app.addHook('onReady', async () => telemetrySweeper.start());
    app.addHook('onReady', async () => mailWorker.start());
    if (config.RAMPART_AUDIT_SINK_WORKER === 'on')
      app.addHook('onReady', async () => auditSinkWorker.start());
    // Account events are kept RAMPART_ACCOUNT_EVENT_RETENTION_DAYS; swept on the telemetry cadence.
    // Sign-ins that expired over a day ago and widget conversations past retention go on the same cadence.
    const accountSweep = setInterval(() => {
      sweepAccountEvents(db, config.RAMPART_ACCOUNT_EVENT_RETENTION_DAYS, new Date()).catch((err) =>
        logger.error({ err }, 'account event sweep failed'),
      );
      sweepRefreshFamilies(db).catch((err) => logger.error({ err }, 'sign-in sweep failed'));
      // Widget conversations past their widget's retention (conversationRetentionDays).
      sweepConversations(db, new Date())
        .then((n) => n && logger.info({ deleted: n }, 'widget conversations swept'))
        .catch((err) => logger.error({ err }, 'widget conversation sweep failed'));
      // PGlite has no autovacuum: refresh the planner's statistics of the big tables on this cadence too.
      analyzeIfEmbedded(db).catch((err) => logger.error({ err }, 'ANALYZE sweep failed'));
    }, config.RAMPART_TELEMETRY_SWEEP_MS);
    accountSweep.unref();
    app.addHook('onClose', async () => {
      await jobRunner.stop();
      await mailWorker.stop();
      await auditSinkWorker.stop();
      if (mailer instanceof LiveMailer) mailer.close();
      settings.stop();
      await operatorAlerts.settle();
      telemetrySweeper.stop();
      clearInterval(accountSweep);
      await agentHub.close(); // no-op after preClose; here for a close that skipped it
      await bus.close();
      await usageAudit.close();
      await limits.close(); // flushes the queued usage rows
      await outbound.close();
      await db.close();
      await limiters.close();
      await logFiles?.close(); // last: whatever the steps above log still reaches the file
    });
  } catch (err) {
    settings.stop();
    await agentHub.close().catch(() => {});
    await bus.close();
    await db.close();
    await limiters.close();
    await limits.close();
    throw err;
  }
  return { app, services, engine: db.engine, orgRoutes, close: () => app.close() };
}
