/**
 * A self-signed X.509 certificate made with node:crypto alone (Node has no certificate generator): an EC P-256
 * key and a minimal DER encoder for the few fields a TLS server certificate needs (v3, subjectAltName for the
 * given names and addresses, basicConstraints CA so the certificate can be its own trust anchor). Tests hand
 * `cert` to the client as its trusted CA and both to `https.createServer` / `tls.createServer`.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';

const len = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const oid = (dotted: string): Buffer => {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const parts: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      parts.unshift((v % 128) | (parts.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...parts);
  }
  return tlv(0x06, Buffer.from(out));
};
const int = (b: Buffer) =>
  tlv(0x02, b[0] !== undefined && b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const generalizedTime = (d: Date) =>
  tlv(0x18, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`, 'ascii'));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

export interface SelfSignedCert {
  /** PEM certificate: the server's certificate and the client's trusted CA. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/**
 * @example const { cert, key } = selfSignedCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] })
 */
export function selfSignedCert(
  opts: { dnsNames?: string[]; ips?: string[]; days?: number } = {},
): SelfSignedCert {
  const dnsNames = opts.dnsNames ?? ['localhost'];
  const ips = opts.ips ?? ['127.0.0.1'];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256
  const now = Date.now();
  const san = seq(
    ...dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'ascii'))),
    ...ips.filter(isIPv4).map((ip) => tlv(0x87, Buffer.from(ip.split('.').map(Number)))),
  );
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
      seq(oid('2.5.29.17'), tlv(0x04, san)),
    ),
  );
  const subject = name(dnsNames[0] ?? 'localhost');
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))),
    int(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    alg,
    subject,
    seq(
      generalizedTime(new Date(now - 3_600_000)),
      generalizedTime(new Date(now + (opts.days ?? 2) * 86_400_000)),
    ),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, alg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
  };
}
