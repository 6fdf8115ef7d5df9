import { describe, expect, it } from 'vitest';
import { detect } from './detect.js';
import { redact } from './redact.js';

describe('SSN detection', () => {
  it.each(['123-45-6789', '123 45 6789', '001-01-0001', '665-99-9999', '667-12-3456', '899-99-9999'])(
    'redacts the possible SSN %s',
    (ssn) => {
      expect(redact(`SSN ${ssn}.`)).toBe('SSN [SSN].');
    },
  );

  it.each([
    ['area 000', '000-12-3456'],
    ['area 666', '666-12-3456'],
    ['area 900', '900-12-3456'],
    ['area 999', '999-12-3456'],
    ['area 9xx (ITIN range)', '912-78-3456'],
    ['group 00', '123-00-4567'],
    ['serial 0000', '123-45-0000'],
    ['area 000 with spaces', '000 12 3456'],
    ['group 00 with spaces', '123 00 4567'],
  ])('leaves an impossible SSN alone: %s (%s)', (_rule, ssn) => {
    expect(redact(`SSN ${ssn}.`)).toBe(`SSN ${ssn}.`);
  });

  it('does not treat a bare nine-digit run as an SSN (order and account numbers)', () => {
    expect(redact('order 123456789')).toBe('order 123456789');
  });

  it('needs the same separator twice', () => {
    expect(redact('123-45 6789 and 123 45-6789')).toBe('123-45 6789 and 123 45-6789');
  });

  it.each(['A123-45-6789', '123-45-6789B', '9123-45-6789', '123-45-67890', '1-123-45-6789', '123-45-6789-1'])(
    'leaves an SSN glued to other characters alone: %s',
    (text) => {
      expect(detect(text)).toEqual([]);
    },
  );

  it('reports the exact span', () => {
    expect(detect('ssn=123-45-6789&x')).toEqual([{ kind: 'ssn', start: 4, end: 15 }]);
  });
});
