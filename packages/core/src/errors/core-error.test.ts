import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PasswordError } from '../passwords/errors.js';
import { SealError } from '../seal/errors.js';
import { SkillPackError } from '../skillpack/errors.js';
import { TokenError } from '../tokens/errors.js';
import { TotpError } from '../totp/errors.js';
import { WebhookError } from '../webhooks/errors.js';
import { CoreError } from './core-error.js';

const SECRET = 'hunter2-super-secret-value';

class DemoError extends CoreError<'bad' | 'worse', { reason: string; field: string }> {
  override readonly name = 'DemoError';
  readonly reason?: string;
  readonly field?: string;
  readonly value = SECRET;

  constructor(code: 'bad' | 'worse', message: string, opts: { reason?: string; field?: string } = {}) {
    super(code, message, { cause: new Error(`inner ${SECRET}`) });
    if (opts.reason !== undefined) this.reason = opts.reason;
    if (opts.field !== undefined) this.field = opts.field;
  }

  protected override safeFields() {
    return { reason: this.reason, field: this.field };
  }
}

describe('CoreError', () => {
  it('serialises name, code, message and the listed safe fields only', () => {
    const err = new DemoError('bad', 'fixed text', { reason: 'entry 2' });
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'DemoError',
      code: 'bad',
      message: 'fixed text',
      reason: 'entry 2',
    });
    expect(err).toBeInstanceOf(CoreError);
    expect(err).toBeInstanceOf(Error);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('never serialises the stack, the cause or other properties', () => {
    const text = JSON.stringify({ err: new DemoError('worse', 'fixed text', { field: 'f' }) });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('stack');
    expect(text).not.toContain('cause');
    expect(text).not.toContain('at ');
  });

  it.each<[string, CoreError<string>]>([
    ['PasswordError', new PasswordError('too_long', 'password is too long')],
    [
      'SealError',
      new SealError('open_failed', 'cannot open', { reason: 'entry 1', cause: new Error(SECRET) }),
    ],
    ['SkillPackError', new SkillPackError('missing_file', 'a file is missing', { path: 'a.txt' })],
    ['TokenError', new TokenError('invalid', 'invalid token', { reason: 'ERR_X', claim: 'aud' })],
    ['TotpError', new TotpError('invalid_secret', 'bad secret')],
    ['WebhookError', new WebhookError('expired', 'expired', { reason: 'too_old' })],
  ])('%s is a CoreError with the same safe toJSON', (name, err) => {
    expect(err).toBeInstanceOf(CoreError);
    const json = JSON.parse(JSON.stringify(err));
    expect(json).toMatchObject({ name, code: err.code, message: err.message });
    expect(Object.keys(json).slice(0, 3)).toEqual(['name', 'code', 'message']);
    expect(JSON.stringify(err)).not.toContain(SECRET);
    expect(inspect(json)).not.toContain('stack');
  });
});
