import type { FastifyRequest } from 'fastify';
import type { AuditActor } from './audit/append.js';

/** The audit actor for a request: who (from the principal, if any) and from where. */
export function actorOf(request: FastifyRequest, override: AuditActor = {}): AuditActor {
  const p = request.principal;
  return {
    userId: p?.kind === 'session' ? p.userId : null,
    apiKeyId: p?.kind === 'api_key' ? p.keyId : null,
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
    ...override,
  };
}
