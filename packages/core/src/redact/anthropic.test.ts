import { describe, expect, it } from 'vitest';
import { redactAnthropicRequest, rewriteAnthropicMessage } from './anthropic.js';
import { redactingRewrite } from './chat.js';
import { selectedKinds } from './detect.js';
import { PlaceholderMap } from './reversible.js';

const PII = 'mail jane.doe@example.com, SSN 123-45-6789';

describe('redactAnthropicRequest', () => {
  it('redacts system (string and text blocks), string content and text blocks; keeps other fields', () => {
    const body = {
      model: 'claude-x',
      max_tokens: 10,
      system: PII,
      metadata: { user_id: 'u1' },
      messages: [
        { role: 'user', content: PII },
        { role: 'user', content: [{ type: 'text', text: PII, cache_control: { type: 'ephemeral' } }] },
      ],
    };
    const out = redactAnthropicRequest(body);
    expect(out.system).toBe('mail [EMAIL], SSN [SSN]');
    expect(out.messages[0]?.content).toBe('mail [EMAIL], SSN [SSN]');
    expect(out.messages[1]?.content).toEqual([
      { type: 'text', text: 'mail [EMAIL], SSN [SSN]', cache_control: { type: 'ephemeral' } },
    ]);
    expect(out.metadata).toBe(body.metadata);
    expect(body.system).toBe(PII); // never mutates
    const blocks = redactAnthropicRequest({ system: [{ type: 'text', text: PII }], messages: [] });
    expect(blocks.system).toEqual([{ type: 'text', text: 'mail [EMAIL], SSN [SSN]' }]);
  });

  it('redacts tool_use input as JSON (nested strings, a card as a bare number) and tool_result content', () => {
    const out = redactAnthropicRequest({
      messages: [
        {
          role: 'assistant',
          content: [
            {
              type: 'tool_use',
              id: 'tu_1',
              name: 'send',
              input: { to: 'jane.doe@example.com', card: 4111111111111111, list: ['call (415) 555-0134'] },
            },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'tu_1', content: 'sent to jane.doe@example.com' },
            {
              type: 'tool_result',
              tool_use_id: 'tu_2',
              content: [
                { type: 'text', text: PII },
                { type: 'image', source: { type: 'base64', data: 'AAAA' } },
              ],
            },
          ],
        },
      ],
    });
    const [use] = (out.messages[0] as { content: unknown }).content as Array<{ input: unknown; id: string }>;
    expect(use?.input).toEqual({ to: '[EMAIL]', card: '[CREDIT_CARD]', list: ['call [PHONE]'] });
    expect(use?.id).toBe('tu_1');
    const [r1, r2] = (out.messages[1] as { content: unknown }).content as Array<{ content: unknown }>;
    expect(r1?.content).toBe('sent to [EMAIL]');
    expect(r2?.content).toEqual([
      { type: 'text', text: 'mail [EMAIL], SSN [SSN]' },
      { type: 'image', source: { type: 'base64', data: 'AAAA' } },
    ]);
  });

  it('redacts plain-text documents and search results; keeps thinking blocks byte for byte', () => {
    const thinking = { type: 'thinking', thinking: PII, signature: 'sig' };
    const out = redactAnthropicRequest({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: PII }, title: PII },
            { type: 'search_result', source: 's', title: 't', content: [{ type: 'text', text: PII }] },
          ],
        },
        { role: 'assistant', content: [thinking, { type: 'redacted_thinking', data: 'x' }] },
      ],
    });
    const [doc, search] = (out.messages[0] as { content: unknown }).content as Array<Record<string, unknown>>;
    expect(JSON.stringify([doc, search])).not.toMatch(/jane|6789/);
    expect(((out.messages[1] as { content: unknown }).content as unknown[])[0]).toBe(thinking);
  });

  it('reversible mode: numbered placeholders that the map puts back, tool input included', () => {
    const placeholders = new PlaceholderMap();
    const out = redactAnthropicRequest(
      {
        messages: [
          { role: 'user', content: 'I am jane.doe@example.com' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 't', name: 'f', input: { to: 'jane.doe@example.com' } }],
          },
        ],
      },
      { placeholders },
    );
    expect(out.messages[0]?.content).toBe('I am [EMAIL_1]');
    const restore = {
      text: (v: string) => placeholders.restore(v),
      json: (v: string) => placeholders.restore(v, true),
    };
    const answer = rewriteAnthropicMessage(
      {
        type: 'message',
        content: [
          { type: 'text', text: 'Hi [EMAIL_1]', citations: [{ type: 'x', cited_text: '[EMAIL_1]' }] },
          { type: 'tool_use', id: 't2', name: 'f', input: { to: '[EMAIL_1]', n: 1 } },
        ],
      },
      restore,
    ) as { content: Array<Record<string, unknown>> };
    expect(answer.content[0]).toEqual({
      type: 'text',
      text: 'Hi jane.doe@example.com',
      citations: [{ type: 'x', cited_text: 'jane.doe@example.com' }],
    });
    expect(answer.content[1]?.input).toEqual({ to: 'jane.doe@example.com', n: 1 });
  });

  it('an answer that is not a message is returned as is', () => {
    const r = redactingRewrite(selectedKinds(undefined), () => 'X');
    const err = { type: 'error', error: { type: 'api_error', message: PII } };
    expect(rewriteAnthropicMessage(err, r)).toBe(err);
  });
});
