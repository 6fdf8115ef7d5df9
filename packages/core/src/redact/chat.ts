import { selectedKinds } from './detect.js';
import type { RedactOptions } from './kinds.js';
import { redactIn } from './redact.js';

/** The part of an OpenAI chat message this function reads: `content`, a string or an array of parts. */
export interface ChatMessageLike {
  readonly content?: unknown;
}

/** A content part whose `text` is redacted; any other part (`image_url`, `input_audio`, ...) is left as is. */
export interface ChatTextPart {
  readonly type: 'text';
  readonly text: string;
}

function isTextPart(part: unknown): part is ChatTextPart {
  return (
    typeof part === 'object' &&
    part !== null &&
    (part as { type?: unknown }).type === 'text' &&
    typeof (part as { text?: unknown }).text === 'string'
  );
}

/**
 * Redacts every message's `content` before it leaves for an upstream model: string content, and the `text` of
 * each `{ type: 'text' }` part of array content. Other parts, other message fields (`role`, `name`,
 * `tool_calls`...) and messages without content are kept as they are.
 *
 * Nothing is mutated: the result is a new array of new message objects (and new part arrays and text parts
 * where content is an array); untouched parts and fields are shared with the input.
 *
 * @throws {TypeError} if `messages` is not an array or `opts.kinds` is not a Set of PII kinds.
 * @example
 * redactChatMessages([{ role: 'user', content: [{ type: 'text', text: 'SSN 123-45-6789' }] }])
 * // [{ role: 'user', content: [{ type: 'text', text: 'SSN [SSN]' }] }]
 */
export function redactChatMessages<M extends ChatMessageLike>(
  messages: readonly M[],
  opts?: RedactOptions,
): M[] {
  if (!Array.isArray(messages)) throw new TypeError('redactChatMessages: expected an array of messages');
  const kinds = selectedKinds(opts);
  return messages.map((message): M => {
    if (typeof message !== 'object' || message === null) return message;
    const content = message.content;
    if (typeof content === 'string') return { ...message, content: redactIn(content, kinds) };
    if (Array.isArray(content)) {
      const parts = content.map((part: unknown) =>
        isTextPart(part) ? { ...part, text: redactIn(part.text, kinds) } : part,
      );
      return { ...message, content: parts };
    }
    return { ...message };
  });
}
