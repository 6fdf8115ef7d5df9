import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { redact } from './redact.js';

// Test numbers published by the card networks for integration testing (all pass the Luhn check).
const VALID = [
  ['visa 16', '4111111111111111'],
  ['visa 13', '4222222222222'],
  ['visa 19', '4111111111111111110'],
  ['mastercard', '5555555555554444'],
  ['mastercard 2-series', '2223003122003222'],
  ['amex', '378282246310005'],
  ['discover', '6011111111111117'],
  ['diners 14', '30569309025904'],
  ['jcb', '3530111333300000'],
  ['unionpay 19', '6200000000000000000'],
] as const;

describe('credit card detection', () => {
  it.each(VALID)('redacts a contiguous %s number', (_brand, pan) => {
    expect(redact(`card ${pan}.`)).toBe('card [CREDIT_CARD].');
  });

  it.each([
    ['4-4-4-4 with spaces', '4111 1111 1111 1111'],
    ['4-4-4-4 with dashes', '4111-1111-1111-1111'],
    ['amex 4-6-5', '3782 822463 10005'],
    ['amex 4-6-5 with dashes', '3782-822463-10005'],
    ['diners 4-6-4', '3056 930902 5904'],
    ['visa 13 as 4-4-5', '4222 2222 22222'],
    ['19 digits as 4-4-4-4-3', '4111 1111 1111 1111 110'],
  ])('redacts a grouped number: %s', (_layout, pan) => {
    expect(redact(`card ${pan}, thanks`)).toBe('card [CREDIT_CARD], thanks');
  });

  it('leaves a 16-digit number that fails the Luhn check alone, contiguous or grouped', () => {
    for (const text of ['4111111111111112', '4111 1111 1111 1112', '4111-1111-1111-1112']) {
      expect(redact(text)).toBe(text);
    }
  });

  it('needs 13 to 19 digits', () => {
    expect(redact('411111111117')).toBe('411111111117'); // 12 digits, Luhn-valid
    expect(redact('41111111111111111115')).toBe('41111111111111111115'); // 20 digits, Luhn-valid
  });

  it.each([
    ['glued to letters on the left', 'ID4111111111111111'],
    ['glued to letters on the right', '4111111111111111abc'],
    ['glued to an underscore', 'x_4111111111111111'],
    ['glued to digits through a dash', '12-4111111111111111'],
    ['a decimal fraction', '0.4111111111111111'],
    ['followed by a decimal part', '4111111111111111.5'],
    ['mixed separators', '4111 1111-1111 1111'],
    ['double spaces', '4111  1111  1111  1111'],
    ['a first group that is not 4 digits', '411 11111 1111 1111'],
    ['more than 19 grouped digits (a tracking number)', '9400 1000 0000 0000 0000 00'],
    ['a grouped run after another digit group (an IBAN)', 'DE89 4111 1111 1111 1111 00'],
  ])('leaves a number alone when it is %s', (_case, text) => {
    expect(detect(text)).toEqual([]);
  });

  it('finds a card followed by its expiry date or separated from other numbers by a space', () => {
    expect(redact('4111 1111 1111 1111 12/26')).toBe('[CREDIT_CARD] 12/26');
    expect(redact('PIN 1234 4111111111111111')).toBe('PIN 1234 [CREDIT_CARD]');
    expect(redact('4111111111111111 2026')).toBe('[CREDIT_CARD] 2026');
  });

  it('finds a card at the very start and end of the text and inside punctuation', () => {
    expect(detect('4111111111111111')).toEqual([{ kind: 'credit_card', start: 0, end: 16 }]);
    expect(redact('("4111-1111-1111-1111")')).toBe('("[CREDIT_CARD]")');
    expect(redact('pan:4111111111111111;')).toBe('pan:[CREDIT_CARD];');
  });

  // Issue 22: every length from 12 to 19 digits, with Luhn and issuer (IIN) ranges.
  it.each([
    ['12-digit Maestro 63', '630427373398'],
    ['12-digit Maestro 50', '501864667909'],
    ['12-digit Maestro as 4-4-4', '6304 2737 3398'],
    ['Maestro 4-4-4-4-2', '6761 1234 5678 9012 33'],
    ['Maestro 4-4-4-4-2 with dashes', '6761-1234-5678-9012-33'],
    ['JCB 18 digits', '358912345678901230'],
    ['Mir 2200', '220012345678901231'],
    ['Diners 38, 14 digits', '38410000000007'],
    ['Diners 36 as 4-6-4', '3612 345678 9013'],
  ])('redacts an issuer-range number: %s', (_case, pan) => {
    expect(redact(`card ${pan}.`)).toBe('card [CREDIT_CARD].');
  });

  it.each([
    ['12 Luhn-valid digits outside Maestro', '411111111117'],
    ['14 Luhn-valid digits with no issuer (7)', '71234567890123'],
    ['Luhn-valid grouped ID with no issuer', '0700 0000 0000 0003'],
  ])('leaves a Luhn-valid number without an issuer prefix alone: %s', (_case, text) => {
    expect(redact(`id ${text}.`)).toBe(`id ${text}.`);
  });

  it('reads a grouped run that goes on past the card as one longer number', () => {
    expect(redact('Customer ID 5893 3199 7017 49 was merged')).toBe(
      'Customer ID 5893 3199 7017 49 was merged',
    );
  });
});
