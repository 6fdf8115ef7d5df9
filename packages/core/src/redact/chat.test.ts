import { describe, expect, it } from 'vitest';
import { redactChatMessages } from './chat.js';

describe('redactChatMessages', () => {
  it('redacts string content', () => {
    const out = redactChatMessages([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'My SSN is 123-45-6789' },
    ]);
    expect(out).toEqual([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'My SSN is [SSN]' },
    ]);
  });

  it('redacts the text of text parts and leaves image, audio, file and refusal parts untouched', () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/a.png?id=4111111111111111' } };
    const audio = { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } };
    const refusal = { type: 'refusal', refusal: 'call 555-234-5678' };
    const messages = [
      {
        role: 'user',
        content: [{ type: 'text', text: 'card 4111 1111 1111 1111' }, image, audio, refusal],
      },
    ];
    const [message] = redactChatMessages(messages);
    expect(message?.content).toEqual([{ type: 'text', text: 'card [CREDIT_CARD]' }, image, audio, refusal]);
    const parts = message?.content as unknown[];
    expect(parts[1]).toBe(image);
    expect(parts[3]).toBe(refusal);
  });

  it('keeps other fields of text parts and messages (cache_control, name, tool_calls)', () => {
    const toolCalls = [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }];
    const [message] = redactChatMessages([
      {
        role: 'assistant',
        name: 'bot',
        tool_calls: toolCalls,
        content: [{ type: 'text', text: 'jane@example.com', cache_control: { type: 'ephemeral' } }],
      },
    ]);
    expect(message).toEqual({
      role: 'assistant',
      name: 'bot',
      tool_calls: toolCalls,
      content: [{ type: 'text', text: '[EMAIL]', cache_control: { type: 'ephemeral' } }],
    });
  });

  it('does not mutate its input, and returns new arrays and message objects', () => {
    const messages = [
      { role: 'user', content: 'jane@example.com' },
      { role: 'user', content: [{ type: 'text', text: '555-234-5678' }] },
      { role: 'assistant', content: null },
    ];
    const snapshot = structuredClone(messages);
    const out = redactChatMessages(messages);
    expect(messages).toEqual(snapshot);
    expect(out).not.toBe(messages);
    out.forEach((m, i) => {
      expect(m).not.toBe(messages[i]);
    });
    expect(out[1]?.content).not.toBe(messages[1]?.content);
    expect(out[2]).toEqual({ role: 'assistant', content: null });
  });

  it('leaves malformed parts alone (a text part without a string text)', () => {
    const odd = [{ type: 'text', text: 42 }, null, 'raw string part'];
    const [message] = redactChatMessages([{ role: 'user', content: odd }]);
    expect(message?.content).toEqual(odd);
  });

  it('honours opts.kinds', () => {
    const [message] = redactChatMessages([{ role: 'user', content: 'jane@example.com 123-45-6789' }], {
      kinds: new Set(['email']),
    });
    expect(message?.content).toBe('[EMAIL] 123-45-6789');
  });

  it('rejects a non-array with a TypeError', () => {
    expect(() => redactChatMessages({} as unknown as [])).toThrow(TypeError);
  });
});
