import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { redact } from './redact.js';

describe('phone detection', () => {
  it.each([
    ['(555) 234-5678'],
    ['(555)234-5678'],
    ['(555)-234-5678'],
    ['(555) 234 5678'],
    ['(555) 234.5678'],
    ['555-234-5678'],
    ['555.234.5678'],
    ['555 234 5678'],
    ['1-555-234-5678'],
    ['1 555 234 5678'],
    ['1.555.234.5678'],
    ['1 (555) 234-5678'],
    ['1(555)234-5678'],
    ['+1 555 234 5678'],
    ['+1-555-234-5678'],
    ['+1 (555) 234-5678'],
    ['+1.555.234.5678'],
    ['+15552345678'],
    ['+1 555-234-5678'],
  ])('redacts the US format %s', (phone) => {
    expect(redact(`Call ${phone} today.`)).toBe('Call [PHONE] today.');
  });

  it.each([
    ['+44 20 7946 0958'],
    ['+447700900123'],
    ['+44 (0)20 7946 0958'],
    ['+44 (0) 161 496 0000'],
    ['+33 1 23 45 67 89'],
    ['+33.6.12.34.56.78'],
    ['+49-30-1234567'],
    ['+91 98765 43210'],
    ['+81 3-1234-5678'],
    ['+7 912 345-67-89'],
    ['+354 555 1234'],
    ['+86 138 1234 5678 90'],
  ])('redacts the E.164 number %s', (phone) => {
    expect(redact(`Call ${phone} today.`)).toBe('Call [PHONE] today.');
  });

  it('counts 8 to 15 digits after the +', () => {
    expect(redact('+4420794605')).toBe('[PHONE]');
    expect(redact('+44 20 7946')).toBe('[PHONE]');
    expect(redact('+44 20 794')).toBe('+44 20 794');
    expect(redact('+442079460958123')).toBe('[PHONE]');
    expect(redact('+4420794609581234')).toBe('+4420794609581234');
  });

  it('stops at the 15th digit when more groups follow a space', () => {
    expect(redact('+44 20 7946 0958 1234 today')).toBe('[PHONE] 1234 today');
  });

  it.each([
    ['area code starting with 0', '055-234-5678'],
    ['area code starting with 1', '155-234-5678'],
    ['exchange starting with 0', '555-034-5678'],
    ['exchange starting with 1', '555-134-5678'],
    ['N11 area code', '911-234-5678'],
    ['N11 exchange', '555-411-5678'],
    ['+1 with an invalid area code', '+1 055 234 5678'],
    ['+1 with too few digits', '+1 555 234 567'],
    ['+1 with too many digits', '+1555234567890'],
    ['a country code of 0', '+0 20 7946 0958'],
  ])('rejects an impossible number: %s (%s)', (_rule, text) => {
    expect(redact(text)).toBe(text);
  });

  it.each([
    ['seven-digit local number', 'Call 234-5678'],
    ['bare ten digits', 'id 5552345678'],
    ['bare eleven digits', 'id 15552345678'],
    ['mixed separators', '555-234.5678'],
    ['four-digit area code', '5555-234-5678'],
    ['five-digit line', '555-234-56789'],
    ['glued to letters', 'x555-234-5678 and 555-234-5678x'],
    ['glued to digits through a dash', '1-2-555-234-5678'],
    ['a timezone offset', '2024-03-15T10:00:00+05:30'],
    ['a dotted quad', '555.234.567.8'],
    ['a percentage', '+5.3%'],
  ])('leaves a non-phone alone: %s', (_case, text) => {
    expect(redact(text)).toBe(text);
  });

  it('takes the + and the parentheses into the span', () => {
    expect(detect('tel:+1 (555) 234-5678.')).toEqual([{ kind: 'phone', start: 4, end: 21 }]);
    expect(detect('[(555) 234-5678]')).toEqual([{ kind: 'phone', start: 1, end: 15 }]);
  });

  it('finds two numbers separated by a comma or slash and a space', () => {
    expect(redact('555-234-5678, 555-876-5432 / +44 20 7946 0958')).toBe('[PHONE], [PHONE] / [PHONE]');
  });
});
