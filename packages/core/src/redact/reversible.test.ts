import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redactChatMessages, rewriteChatCompletion } from './chat.js';
import { PII_KINDS } from './kinds.js';
import { PlaceholderMap, redactWith } from './reversible.js';

const ALL = new Set(PII_KINDS);
type Msg = { content: string; tool_calls: Array<{ function: { arguments: string } }> };

describe('PlaceholderMap (reversible redaction)', () => {
  it('numbers items per kind and request; the same value gets the same placeholder', () => {
    const map = new PlaceholderMap();
    const out = redactWith(
      'a@x.io, 555-234-5678, b@x.io, a@x.io, 123-45-6789, 555-234-5678',
      ALL,
      map.replacer,
    );
    expect(out).toBe('[EMAIL_1], [PHONE_1], [EMAIL_2], [EMAIL_1], [SSN_1], [PHONE_1]');
    expect(map.size).toBe(4);
    expect(map.restore(out)).toBe('a@x.io, 555-234-5678, b@x.io, a@x.io, 123-45-6789, 555-234-5678');
  });

  it('restores only its own placeholders, JSON-escaped on request', () => {
    const map = new PlaceholderMap();
    redactWith("o'brien@example.com", ALL, map.replacer);
    expect(map.restore('[EMAIL_1] [EMAIL_2] [EMAIL] [PHONE_1]')).toBe(
      "o'brien@example.com [EMAIL_2] [EMAIL] [PHONE_1]",
    );
    expect(map.restore('{"to":"[EMAIL_1]"}', true)).toBe('{"to":"o\'brien@example.com"}');
  });

  it('never serialises or prints the values it holds', () => {
    const map = new PlaceholderMap();
    redactWith('jane@example.com 555-234-5678', ALL, map.replacer);
    expect(JSON.stringify({ map })).toBe('{"map":{}}');
    expect(inspect(map)).not.toContain('jane');
    expect(JSON.stringify(Object.entries(map))).not.toContain('jane');
  });

  it('round trip through a chat request and a completion, tool-call arguments included', () => {
    const map = new PlaceholderMap();
    const [m] = redactChatMessages(
      [
        {
          role: 'user',
          content: 'Mail jane@example.com, call 555-234-5678',
          tool_calls: [{ function: { name: 'f', arguments: '{"to":"jane@example.com"}' } }],
        },
      ],
      { placeholders: map },
    ) as unknown as Msg[];
    expect(m?.content).toBe('Mail [EMAIL_1], call [PHONE_1]');
    expect(m?.tool_calls[0]?.function.arguments).toBe('{"to":"[EMAIL_1]"}');
    const answer = {
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Sent to [EMAIL_1]',
            tool_calls: [{ function: { name: 'call', arguments: '{"number":"[PHONE_1]"}' } }],
          },
        },
      ],
    };
    const restored = rewriteChatCompletion(answer, {
      text: (v) => map.restore(v),
      json: (v) => map.restore(v, true),
    }) as typeof answer;
    expect(restored.choices[0]?.message.content).toBe('Sent to jane@example.com');
    expect(restored.choices[0]?.message.tool_calls[0]?.function.arguments).toBe('{"number":"555-234-5678"}');
    expect(answer.choices[0]?.message.content).toBe('Sent to [EMAIL_1]');
  });
});
