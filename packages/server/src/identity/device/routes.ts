import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { ipLimitKey, take } from '../../platform/ratelimit.js';
import type { IdentityServices } from '../services.js';
import { registerCliCredentialRoutes } from './cli-credential-routes.js';
import {
  acceptForms,
  auditUserEvent,
  CLI_CLIENT_ID,
  DEVICE_CODE_TTL_SECONDS,
  DEVICE_GRANT_TYPE,
  DEVICE_POLL_INTERVAL_SECONDS,
  displayUserCode,
  normalizeUserCode,
  oauthError,
} from './grant.js';
import { decide, findPending, pollAuthorization, startAuthorization } from './store.js';

const tags = ['cli-login'];
/** Small bodies only: these routes take a handful of short parameters. */
const FORM_BODY_LIMIT = 8 * 1024;
/** Wrong user codes: per user and per IP, in this many seconds (successes are given back). */
const VERIFY_WINDOW_SECONDS = 900;
const VERIFY_PER_USER = 10;
const VERIFY_PER_IP = 30;

/** RFC 6749 §5.2 error body, as this server sends it (every Rampart error also has `message`, `requestId`). */
const oauthErrorBody = z.looseObject({
  error: z.string(),
  error_description: z.string().optional(),
  message: z.string(),
  requestId: z.string().optional(),
});

const clientIdField = z.string().min(1).max(200);
const userCodeField = z.string().min(1).max(32);

export const deviceDetails = z.object({
  userCode: z.string(),
  clientId: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  requesterIp: z.string().nullable(),
  requesterAgent: z.string().nullable(),
  /** The address this approval request comes from, and whether it is the requester's (RFC 8628 §5.4). */
  approverIp: z.string(),
  sameAddress: z.boolean(),
});

const POLL_MESSAGES = {
  invalid_grant: 'Unknown or already used device code; start again with rampart login',
  expired_token: 'The device code expired before it was approved; start again with rampart login',
  access_denied: 'The sign-in request was denied in the dashboard',
  authorization_pending: 'Waiting for the user to approve the request in the dashboard',
  slow_down: 'Polling too fast; wait the interval (now 5 s longer) between requests',
} as const;

/**
 * `rampart login`: the OAuth 2.0 Device Authorization Grant (RFC 8628). The CLI asks for a code pair, a signed-in
 * user approves the user code in the dashboard, and the CLI's polling turns the device code into a CLI credential
 * (`cli_live_...`, its own scope: never accepted where a dashboard session is required). Details: docs/CLI-LOGIN.md.
 */
export function registerDeviceRoutes(app: App, s: IdentityServices): void {
  const codeIp = s.limiters.create('device:code:ip', s.config.RAMPART_DEVICE_CODES_PER_IP_PER_HOUR, 3600);
  const verifyUser = s.limiters.create('device:verify:user', VERIFY_PER_USER, VERIFY_WINDOW_SECONDS);
  const verifyIp = s.limiters.create('device:verify:ip', VERIFY_PER_IP, VERIFY_WINDOW_SECONDS);
  const credentialSeconds = s.config.RAMPART_CLI_CREDENTIAL_DAYS * 86_400;
  const verificationUri = `${s.publicUrl.replace(/\/+$/, '')}/device`;

  /**
   * Runs a lookup by user code under the wrong-guess limits: every attempt takes a point per user and per IP up
   * front (so parallel guesses cannot all slip past a check), and a hit gives them back. A miss: 404.
   */
  async function byUserCode<T>(
    userId: string,
    ip: string,
    input: string,
    fn: (code: string) => Promise<T | undefined>,
  ): Promise<T> {
    await take(verifyUser, userId, 'Too many wrong codes');
    try {
      await take(verifyIp, ipLimitKey(ip), 'Too many wrong codes from this address');
    } catch (err) {
      await verifyUser.reward(userId, 1);
      throw err;
    }
    const code = normalizeUserCode(input);
    const found = code ? await fn(code) : undefined;
    if (found === undefined) {
      throw new AppError('not_found', 'No pending sign-in request with this code (it may have expired)');
    }
    await Promise.all([verifyUser.reward(userId, 1), verifyIp.reward(ipLimitKey(ip), 1)]);
    return found;
  }

  // The two OAuth endpoints take forms (what RFC 8628 clients send) as well as JSON, in a scope of their own.
  app.register(async (plain) => {
    const scope = plain as unknown as App;
    acceptForms(scope);

    scope.post(
      '/api/auth/device/code',
      {
        bodyLimit: FORM_BODY_LIMIT,
        schema: {
          tags,
          summary: 'Start a CLI sign-in (RFC 8628 device authorization request); form or JSON',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: z.object({ client_id: clientIdField, scope: z.string().max(500).optional() }),
          response: {
            200: z.object({
              device_code: z.string(),
              user_code: z.string(),
              verification_uri: z.string(),
              expires_in: z.number().int(),
              interval: z.number().int(),
            }),
            400: oauthErrorBody,
          },
        },
      },
      async (request) => {
        await take(codeIp, ipLimitKey(request.ip), 'Too many sign-in requests from this address');
        if (request.body.client_id !== CLI_CLIENT_ID) throw oauthError('invalid_client', 'Unknown client_id');
        const started = await startAuthorization(s, request.ip, request.headers['user-agent']);
        if (started === undefined)
          throw new AppError('service_unavailable', 'Could not allocate a code; retry');
        const shown = displayUserCode(started.userCode);
        return {
          device_code: started.deviceCode,
          user_code: shown,
          // No verification_uri_complete (optional in RFC 8628): a link carrying the code is what a phisher sends
          // (§5.4), so the person types the code their own terminal shows.
          verification_uri: verificationUri,
          expires_in: DEVICE_CODE_TTL_SECONDS,
          interval: DEVICE_POLL_INTERVAL_SECONDS,
        };
      },
    );

    scope.post(
      '/api/auth/device/token',
      {
        bodyLimit: FORM_BODY_LIMIT,
        schema: {
          tags,
          summary:
            'Poll for the CLI credential (RFC 8628 §3.4); 400 authorization_pending, slow_down, expired_token, access_denied, invalid_grant',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: z.object({
            grant_type: z.string().max(200),
            device_code: z.string().min(1).max(200),
            client_id: clientIdField,
          }),
          response: {
            200: z.object({
              access_token: z.string(),
              token_type: z.literal('Bearer'),
              expires_in: z.number().int(),
            }),
            400: oauthErrorBody,
          },
        },
      },
      async (request, reply) => {
        const { grant_type, device_code, client_id } = request.body;
        if (client_id !== CLI_CLIENT_ID) throw oauthError('invalid_client', 'Unknown client_id');
        if (grant_type !== DEVICE_GRANT_TYPE) {
          throw oauthError('unsupported_grant_type', `Only grant_type=${DEVICE_GRANT_TYPE} is supported`);
        }
        const outcome = await pollAuthorization(s, device_code, client_id, credentialSeconds);
        if ('error' in outcome) throw oauthError(outcome.error, POLL_MESSAGES[outcome.error]);
        reply.header('pragma', 'no-cache');
        return { access_token: outcome.token, token_type: 'Bearer' as const, expires_in: outcome.expiresIn };
      },
    );
  });

  app.get(
    '/api/auth/device',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'A pending CLI sign-in request, by its user code (dashboard session only)',
        querystring: z.object({ user_code: userCodeField }),
        response: { 200: deviceDetails },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const r = await byUserCode(p.userId, request.ip, request.query.user_code, (code) =>
        findPending(s, code),
      );
      return {
        userCode: displayUserCode(r.user_code),
        clientId: r.client_id,
        createdAt: r.created_at.toISOString(),
        expiresAt: r.expires_at.toISOString(),
        requesterIp: r.requester_ip,
        requesterAgent: r.requester_agent,
        approverIp: request.ip,
        sameAddress: r.requester_ip === request.ip,
      };
    },
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post(
      `/api/auth/device/${decision}`,
      {
        schema: {
          tags,
          security: bearer,
          summary:
            decision === 'approve'
              ? 'Approve a pending CLI sign-in as the signed-in user (dashboard session only)'
              : 'Deny a pending CLI sign-in (dashboard session only)',
          body: z.strictObject({ userCode: userCodeField }),
          response: { 200: okBody },
        },
      },
      async (request) => {
        const p = await s.auth.session(request);
        const r = await byUserCode(p.userId, request.ip, request.body.userCode, (code) =>
          decide(s, decision, code, p.userId),
        );
        await auditUserEvent(
          s,
          p.userId,
          actorOf(request),
          decision === 'approve' ? 'auth.device_approved' : 'auth.device_denied',
          `device_authorization:${r.id}`,
          { clientId: r.client_id, requesterIp: r.requester_ip, requesterAgent: r.requester_agent },
        );
        return { ok: true as const };
      },
    );
  }

  registerCliCredentialRoutes(app, s);
}
