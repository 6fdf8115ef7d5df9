/**
 * A real OpenID provider on loopback for tests: `oidc-provider` (the certified server library) behind a small
 * pass-through proxy that can, when a test asks, swap the ID token in a token response or hold the response
 * back (to hand the relying party a token for another audience, or an expired one). Logins are automatic: the
 * interaction endpoint signs in whichever account the test chose, and grants are created for first-party use.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface Idp {
  issuer: string;
  accounts: Map<string, IdpAccount>;
  /** The account the next login interaction signs in. */
  loginAs: string;
  /** ID token lifetime in seconds for tokens issued from now on. */
  idTokenTtl: number;
  /** When set, the next token response carries this ID token instead of its own. */
  swapIdToken: string | null;
  /** Milliseconds to hold the next token response before passing it on. */
  holdTokenMs: number;
  close(): Promise<void>;
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

export async function startIdp(
  clients: Array<{ client_id: string; client_secret: string; redirect_uris: string[] }>,
): Promise<Idp> {
  const front = createServer();
  const frontPort = await listen(front);
  const issuer = `http://127.0.0.1:${frontPort}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomBytes(4).toString('hex'),
    use: 'sig',
    alg: 'RS256',
  };
  const idp: Idp = {
    issuer,
    accounts: new Map(),
    loginAs: '',
    idTokenTtl: 3600,
    swapIdToken: null,
    holdTokenMs: 0,
    close: async () => {
      await new Promise((r) => front.close(r));
      await new Promise((r) => back.close(r));
    },
  };
  const configuration: Configuration = {
    clients: clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'] })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: { IdToken: () => idp.idTokenTtl },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, ...(idp.accounts.get(id) ?? {}) }),
    }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // First-party client: consent is implied, so every request gets a grant for the scopes it asked.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client?.clientId ?? '',
        accountId: ctx.oidc.session?.accountId ?? '',
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  const back = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: idp.loginAs } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    callback(req, res);
  });
  const backPort = await listen(back);

  // The front door (the issuer URL): passes everything through, and doctors token responses when asked.
  front.on('request', (req, res) => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: backPort, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        const isToken = req.method === 'POST' && req.url === '/token';
        if (!isToken || (!idp.swapIdToken && !idp.holdTokenMs)) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8');
          if (idp.swapIdToken && up.statusCode === 200) {
            const json = JSON.parse(body) as { id_token?: string };
            json.id_token = idp.swapIdToken;
            body = JSON.stringify(json);
            idp.swapIdToken = null;
          }
          const hold = idp.holdTokenMs;
          idp.holdTokenMs = 0;
          setTimeout(() => {
            const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(body)) };
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(body);
          }, hold);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return idp;
}

/** A cookie jar small enough for a test: name=value pairs per host, no attributes honoured but Path-less send. */
export class Jar {
  readonly #cookies = new Map<string, Map<string, string>>();
  store(url: string, res: Response): void {
    const host = new URL(url).host;
    const jar = this.#cookies.get(host) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = (pair ?? '').indexOf('=');
      if (i > 0) jar.set((pair ?? '').slice(0, i).trim(), (pair ?? '').slice(i + 1));
    }
    this.#cookies.set(host, jar);
  }
  header(url: string): string {
    const jar = this.#cookies.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }
}

/** Follows redirects by hand (keeping cookies) until a URL on `stopAt` is reached; returns that URL. */
export async function followUntil(start: string, stopAt: string, jar: Jar, maxHops = 10): Promise<string> {
  let url = start;
  for (let i = 0; i < maxHops; i++) {
    if (url.startsWith(stopAt)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.store(url, res);
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`no redirect from ${url} (status ${res.status}): ${await res.text()}`);
    url = new URL(loc, url).href;
  }
  throw new Error(`gave up after ${maxHops} redirects at ${url}`);
}
