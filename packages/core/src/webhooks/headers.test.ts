import { describe, expect, it } from 'vitest';
import { standardWebhookHeaders } from './headers.js';
import { signStandardWebhook } from './sign.js';

describe('standardWebhookHeaders', () => {
  const input = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
  };

  it('gives exactly the three spec headers for the published vector', () => {
    expect(standardWebhookHeaders(input)).toStrictEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('signs what it labels: the signature header equals signStandardWebhook of the same input', () => {
    const headers = standardWebhookHeaders({ ...input, timestamp: 0 });
    expect(headers['webhook-timestamp']).toBe('0');
    expect(headers['webhook-signature']).toBe(signStandardWebhook({ ...input, timestamp: 0 }));
  });

  it('can be passed straight to fetch Headers', () => {
    const headers = new Headers(standardWebhookHeaders(input));
    expect(headers.get('Webhook-Id')).toBe(input.id);
  });

  it('refuses what signStandardWebhook refuses', () => {
    expect(() => standardWebhookHeaders({ ...input, id: 'a.b' })).toThrow(TypeError);
    expect(() => standardWebhookHeaders({ ...input, secret: 'whsec_' })).toThrow(RangeError);
  });
});
