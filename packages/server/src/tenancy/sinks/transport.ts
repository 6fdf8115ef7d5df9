import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { standardWebhookHeaders } from '@rampart/core/webhooks';
import {
  type GuardedAgent,
  outboundCa,
  type Resolver,
  systemResolver,
  vetDestination,
} from '../../platform/outbound/dispatcher.js';
import { guardedFetch } from '../../platform/outbound/fetch.js';
import type { OutboundPolicy } from '../../platform/outbound/policy.js';

export interface SinkTransportOptions {
  outbound: GuardedAgent;
  policy: OutboundPolicy;
  /** Extra trusted CAs (RAMPART_OUTBOUND_CA) for the syslog TLS connection; https goes through `outbound`. */
  extraCa?: string | undefined;
  resolve?: Resolver;
  timeoutMs: number;
  userAgent: string;
}

/** A delivery the receiver refused or that did not complete; `message` is safe to store and show. */
export class SinkDeliveryError extends Error {
  override readonly name = 'SinkDeliveryError';
}

/**
 * POSTs one NDJSON body signed as a Standard Webhook (webhook-id = the batch or anchor id, stable across
 * retries; a fresh timestamp and signature per attempt). Any 2xx is success; redirects are not followed (the
 * signature was meant for this URL).
 * @throws SinkDeliveryError on a non-2xx answer; the network or guard error otherwise
 */
export async function postSigned(
  o: SinkTransportOptions,
  url: string,
  secret: string,
  id: string,
  body: string,
): Promise<void> {
  const headers = standardWebhookHeaders({ secret, id, timestamp: Math.floor(Date.now() / 1000), body });
  const res = await guardedFetch(o.outbound, url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'user-agent': o.userAgent, ...headers },
    body,
    timeoutMs: o.timeoutMs,
    maxBytes: 1024,
    maxRedirects: 0,
  });
  if (res.status < 200 || res.status >= 300) throw new SinkDeliveryError(`HTTP ${res.status}`);
}

/**
 * Writes framed syslog messages over one TLS connection to `host:port`. The address is vetted by the outbound
 * guard first and the connection goes to exactly that address (SNI and the certificate check keep the name).
 * Success means every byte was handed to the kernel and the connection closed cleanly: syslog has no
 * application-level acknowledgement (RFC 5425), so a receiver that dies after reading loses what it read.
 * @throws the guard, TLS or network error
 */
export async function writeSyslog(
  o: SinkTransportOptions,
  host: string,
  port: number,
  frames: Buffer[],
  client?: { cert: string; key: string },
): Promise<void> {
  const ip = await vetDestination(host, o.policy, o.resolve ?? systemResolver);
  const bare = host.replace(/^\[|\]$/g, '');
  const ca = outboundCa(o.extraCa);
  await new Promise<void>((resolve, reject) => {
    let socket: TLSSocket | undefined;
    const timer = setTimeout(() => {
      socket?.destroy();
      reject(new SinkDeliveryError(`syslog delivery timed out after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket?.destroy();
      reject(err);
    };
    socket = connect(
      {
        host: ip,
        port,
        ...(isIP(bare) ? {} : { servername: bare }),
        ...(ca ? { ca } : {}),
        ...(client ? { cert: client.cert, key: client.key } : {}),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      },
      () => {
        const s = socket as TLSSocket;
        s.end(Buffer.concat(frames), () => {
          clearTimeout(timer);
          resolve();
          // A receiver that keeps its end open must not hold the socket forever.
          setTimeout(() => s.destroy(), 5_000).unref();
        });
      },
    );
    socket.on('error', fail);
  });
}
