/**
 * The Anthropic stream rewriter and usage reader on their own (gateway-anthropic.test.ts drives them through the
 * SDK): items split across deltas and across network chunks, what a block holds sent before its stop (or before
 * message_delta, an error, or the end of a cut stream), thinking deltas untouched, usage and error events read.
 */
import { maskReplacer, PII_KINDS, redactingRewrite, StreamRedactor } from '@rampart/core/redact';
import { describe, expect, it } from 'vitest';
import { MessagesSseRewriter, MessagesUsage } from '../src/gateway/anthropic-sse.js';

const ev = (type: string, data: object = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const rewriter = () =>
  new MessagesSseRewriter(
    {
      text: () => new StreamRedactor(maskReplacer),
      json: () => new StreamRedactor(maskReplacer, { json: true }),
    },
    redactingRewrite(new Set(PII_KINDS), maskReplacer),
  );
const textDelta = (index: number, text: string) =>
  ev('content_block_delta', { index, delta: { type: 'text_delta', text } });

/** Parses SSE text back into its events' data. */
const events = (text: string) =>
  text
    .split('\n\n')
    .filter((e) => e.trim())
    .map((e) => {
      const data = e.split('\n').find((l) => l.startsWith('data: '));
      return JSON.parse((data ?? 'data: null').slice(6)) as Record<string, unknown> & {
        delta?: { text?: string; partial_json?: string };
      };
    });
const textOf = (text: string) =>
  events(text)
    .map((e) => (e.type === 'content_block_delta' ? (e.delta?.text ?? e.delta?.partial_json ?? '') : ''))
    .join('');

const STREAM = [
  ev('message_start', { message: { id: 'm', usage: { input_tokens: 9, output_tokens: 1 } } }),
  ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
  ev('content_block_delta', {
    index: 0,
    delta: { type: 'thinking_delta', thinking: 'mail bob@example.com' },
  }),
  ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } }),
  ev('content_block_stop', { index: 0 }),
  ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
  ev('ping'),
  textDelta(1, 'call (415) 55'),
  textDelta(1, '5-0134 or bob@exam'),
  textDelta(1, 'ple.com'),
  ev('content_block_stop', { index: 1 }),
  ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }),
  ev('content_block_delta', {
    index: 2,
    delta: { type: 'input_json_delta', partial_json: '{"to": "bob@ex' },
  }),
  ev('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: 'ample.com"}' } }),
  ev('content_block_stop', { index: 2 }),
  ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } }),
  ev('message_stop'),
].join('');

describe('MessagesSseRewriter', () => {
  it('masks items split across deltas; what a block holds goes out just before its content_block_stop', () => {
    const r = rewriter();
    const out = r.push(STREAM) + r.end();
    const evs = events(out);
    const text = evs
      .filter((e) => e.index === 1 && e.type === 'content_block_delta')
      .map((e) => e.delta?.text)
      .join('');
    expect(text).toBe('call [PHONE] or [EMAIL]');
    const json = evs
      .filter((e) => e.index === 2 && e.type === 'content_block_delta')
      .map((e) => e.delta?.partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ to: '[EMAIL]' });
    // Order: every delta of a block comes before its stop.
    const stops = evs.flatMap((e, i) => (e.type === 'content_block_stop' ? [[e.index, i]] : []));
    for (const [index, at] of stops)
      expect(evs.findLastIndex((e) => e.type === 'content_block_delta' && e.index === index)).toBeLessThan(
        at as number,
      );
    // Thinking and signature deltas are the model's signed text: untouched.
    expect(out).toContain('mail bob@example.com');
    expect(out).toContain('"signature":"c2ln"');
    expect(out).toContain('event: ping\n');
    expect(evs.map((e) => e.type).at(-1)).toBe('message_stop');
  });

  it('gives the same events whatever the network chunking (one character at a time)', () => {
    const whole = rewriter();
    const expected = whole.push(STREAM) + whole.end();
    const r = rewriter();
    let out = '';
    for (const c of STREAM) out += r.push(c);
    out += r.end();
    expect(out).toBe(expected);
    expect(out).not.toMatch(/415|555-0134/);
    expect(out.match(/bob@ex/g)).toHaveLength(1); // the thinking delta's, kept as signed
  });

  it('a stream cut mid-block still sends what the block held, redacted; an error event flushes first', () => {
    const cut = rewriter();
    const out =
      cut.push(
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
          textDelta(0, 'mail bob@example.com'),
      ) + cut.end();
    expect(textOf(out)).toBe('mail [EMAIL]');
    const err = rewriter();
    const withError =
      err.push(
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
          textDelta(0, 'ssn 123-45-6789') +
          ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
      ) + err.end();
    const evs = events(withError);
    expect(evs.at(-1)?.type).toBe('error');
    expect(textOf(withError)).toBe('ssn [SSN]');
  });

  it('passes what is not a JSON event as it is, and refuses an oversized event', () => {
    const r = rewriter();
    expect(r.push(': comment\n\nevent: x\ndata: not json\n\n')).toBe(
      ': comment\n\nevent: x\ndata: not json\n\n',
    );
    expect(() => r.push(`data: ${'x'.repeat(5 * 1024 * 1024)}`)).toThrow(/too large/);
  });
});

describe('MessagesUsage', () => {
  it('reads input counts from message_start and cumulative counts from message_delta, across chunks', () => {
    const u = new MessagesUsage();
    for (let i = 0; i < STREAM.length; i += 7) u.push(STREAM.slice(i, i + 7));
    expect(u.usage).toEqual({ input_tokens: 9, output_tokens: 30 });
    expect(u.streamError).toBeUndefined();
  });

  it('notes an error event, skips overlong lines, and reads a plain answer', () => {
    const u = new MessagesUsage();
    u.push(`data: ${'y'.repeat(100_000)}`);
    u.push(`"usage"\n${ev('error', { error: { type: 'overloaded_error', message: 'x' } })}`);
    expect(u.usage).toBeUndefined();
    expect(u.streamError).toBe('overloaded_error');
    u.fromMessage({ type: 'message', usage: { input_tokens: 3, output_tokens: 4 } });
    expect(u.usage).toEqual({ input_tokens: 3, output_tokens: 4 });
  });
});
