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

  // Issue 22: a bare nine-digit run is an SSN next to an SSN word, under the same SSA rules.
  it.each([
    ['My SSN is 469628444.', 'My SSN is [SSN].'],
    ['SSN: 665137659', 'SSN: [SSN]'],
    [
      'Social Security number 187666325 is on the tax form.',
      'Social Security number [SSN] is on the tax form.',
    ],
    [
      'Please verify the applicant, social security no. 614497966, before approval.',
      'Please verify the applicant, social security no. [SSN], before approval.',
    ],
    [
      'I entered 128462248 in the SSN field but the portal rejected it.',
      'I entered [SSN] in the SSN field but the portal rejected it.',
    ],
  ])('redacts a bare SSN next to an SSN word: %s', (text, out) => {
    expect(redact(text)).toBe(out);
    expect(redact(out)).toBe(out);
  });

  it.each(['000123456', '666123456', '912345678', '123004567', '123450000'])(
    'leaves an impossible bare SSN alone even after an SSN word: %s',
    (ssn) => {
      expect(redact(`SSN ${ssn}.`)).toBe(`SSN ${ssn}.`);
    },
  );

  it('needs the SSN word in the same sentence and close by', () => {
    expect(redact('My SSN is on file. Order 469628444 shipped.')).toBe(
      'My SSN is on file. Order 469628444 shipped.',
    );
    expect(redact('SSN aside, the long list of reference numbers includes 469628444')).toBe(
      'SSN aside, the long list of reference numbers includes 469628444',
    );
  });
});
