import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { redact } from './redact.js';

describe('e-mail detection', () => {
  it.each([
    'jane@example.com',
    'jane.doe@example.com',
    'Jane.Doe@Example.COM',
    'jane+billing@example.com',
    'jane_doe-1@mail.example.co.uk',
    "jane.o'brien@example.ie",
    'j%d@example.org',
    '12345@example.museum',
    'jane@xn--bcher-kva.example',
    'jane@sub-1.example-2.io',
  ])('redacts %s', (email) => {
    expect(redact(`mail ${email} now`)).toBe('mail [EMAIL] now');
  });

  it.each([
    ['sentence end', 'mail jane@example.com.', 'mail [EMAIL].'],
    ['angle brackets', 'Jane <jane@example.com>', 'Jane <[EMAIL]>'],
    ['quotes', "'jane@example.com'", "'[EMAIL]'"],
    ['mailto', 'mailto:jane@example.com', 'mailto:[EMAIL]'],
    ['markdown link', '[mail](mailto:jane@example.com)', '[mail](mailto:[EMAIL])'],
    ['leading dots', '...jane@example.com', '...[EMAIL]'],
    ['comma list', 'a@example.com,b@example.com', '[EMAIL],[EMAIL]'],
  ])('keeps the surrounding punctuation: %s', (_case, text, redacted) => {
    expect(redact(text)).toBe(redacted);
  });

  it.each([
    ['a host without a dot (decision: not an address)', 'user@localhost'],
    ['an IP address as the domain', 'root@10.0.0.1'],
    ['a one-letter TLD', 'jane@example.c'],
    ['a numeric TLD', 'pkg@1.2.3'],
    ['an npm package spec', 'lodash@4.17.21 and @types/node@20.11.5'],
    ['a container digest', 'nginx@sha256:0123abcd'],
    ['a handle', 'ping @jane on chat'],
    ['no local part', '@example.com'],
    ['no domain', 'jane@'],
    ['an empty label', 'jane@example..com'],
    ['a label starting with a dash', 'jane@-example.com'],
    ['a label ending with a dash', 'jane@example-.com'],
    ['a local part of punctuation only', '+.@example.com'],
  ])('leaves %s alone', (_case, text) => {
    expect(redact(text)).toBe(text);
  });

  it('stops the domain at the last alphabetic TLD, so following digits are scanned on their own', () => {
    expect(redact('jane@example.com.4111111111111111')).toBe('[EMAIL].[CREDIT_CARD]');
    expect(detect('jane@example.com.5x')).toEqual([{ kind: 'email', start: 0, end: 16 }]);
  });

  it('takes digits glued to the local part into the address instead of reporting a number', () => {
    expect(detect('555-234-5678.jane@example.com')).toEqual([{ kind: 'email', start: 0, end: 29 }]);
  });

  it('reads each stretch between two @ at most twice (a@ repeated is not quadratic)', () => {
    const text = 'a@'.repeat(50_000);
    expect(detect(text)).toEqual([]);
  });
});
