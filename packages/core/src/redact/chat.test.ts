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

  it('redacts the text of text and refusal parts and leaves image, audio and file parts untouched', () => {
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
    expect(message?.content).toEqual([
      { type: 'text', text: 'card [CREDIT_CARD]' },
      image,
      audio,
      { type: 'refusal', refusal: 'call [PHONE]' },
    ]);
    const parts = message?.content as unknown[];
    expect(parts[1]).toBe(image);
    expect(parts[2]).toBe(audio);
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

describe('redactChatMessages: tool calls, names, every text part type', () => {
  it('redacts inside tool-call arguments, keeping the JSON valid and its layout', () => {
    const args =
      '{"to": "jane@example.com", "note": "line\\n415-555-0134", "card": 4111111111111111, "n": 3}';
    const messages = [
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send_mail', arguments: args } }],
      },
    ];
    const snapshot = structuredClone(messages);
    const [m] = redactChatMessages(messages);
    const out = (m as unknown as (typeof snapshot)[0]).tool_calls[0]?.function.arguments as string;
    expect(out).toBe('{"to": "[EMAIL]", "note": "line\\n[PHONE]", "card": "[CREDIT_CARD]", "n": 3}');
    expect(JSON.parse(out)).toEqual({ to: '[EMAIL]', note: 'line\n[PHONE]', card: '[CREDIT_CARD]', n: 3 });
    expect((m as unknown as (typeof snapshot)[0]).tool_calls[0]?.function.name).toBe('send_mail');
    expect(messages).toEqual(snapshot);
  });

  it('arguments that are not JSON are redacted as text; the legacy function_call too', () => {
    const [m] = redactChatMessages([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c', type: 'function', function: { name: 'f', arguments: 'to jane@example.com {' } },
        ],
        function_call: { name: 'g', arguments: '{"ssn":"123-45-6789"}' },
      },
    ]) as unknown as Array<{
      tool_calls: Array<{ function: { arguments: string } }>;
      function_call: { arguments: string };
    }>;
    expect(m?.tool_calls[0]?.function.arguments).toBe('to [EMAIL] {');
    expect(m?.function_call.arguments).toBe('{"ssn":"[SSN]"}');
  });

  it('redacts tool messages, name fields, refusals and input_text/output_text parts', () => {
    const out = redactChatMessages([
      { role: 'tool', tool_call_id: 'c1', content: 'found jane@example.com' },
      { role: 'user', name: 'jane@example.com', content: [{ type: 'input_text', text: 'SSN 123-45-6789' }] },
      {
        role: 'assistant',
        refusal: 'not calling 555-234-5678',
        content: [{ type: 'output_text', text: 'x@y.io' }],
      },
    ]);
    expect(out).toEqual([
      { role: 'tool', tool_call_id: 'c1', content: 'found [EMAIL]' },
      { role: 'user', name: '[EMAIL]', content: [{ type: 'input_text', text: 'SSN [SSN]' }] },
      {
        role: 'assistant',
        refusal: 'not calling [PHONE]',
        content: [{ type: 'output_text', text: '[EMAIL]' }],
      },
    ]);
  });
});
