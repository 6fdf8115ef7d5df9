import { selectedKinds } from './detect.js';
import { redactJsonText } from './json.js';
import type { PiiKind, RedactOptions } from './kinds.js';
import { maskReplacer, type PlaceholderMap, type Replacer, redactWith } from './reversible.js';

/** The part of an OpenAI chat message this module reads. */
export interface ChatMessageLike {
  readonly content?: unknown;
}

/** A content part whose `text` is redacted (`text`, `input_text`, `output_text`... any part with a string `text`). */
export interface ChatTextPart {
  readonly type: string;
  readonly text: string;
}

/** Options of {@link redactChatMessages}. */
export interface ChatRedactOptions extends RedactOptions {
  /**
   * Reversible mode: items become this map's numbered placeholders (`[EMAIL_1]`), which
   * {@link PlaceholderMap.restore} puts back. Default: the fixed `[EMAIL]`-style placeholders.
   */
  readonly placeholders?: PlaceholderMap;
}

/** How the strings of a chat message or answer are rewritten: plain text, and JSON text (tool-call arguments). */
export interface ChatTextRewrite {
  text(value: string): string;
  json(value: string): string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** A rewrite that redacts with `replace`: text as text, tool-call arguments inside their JSON string values. */
export function redactingRewrite(kinds: ReadonlySet<PiiKind>, replace: Replacer): ChatTextRewrite {
  return {
    text: (v) => redactWith(v, kinds, replace),
    json: (v) => redactJsonText(v, kinds, replace),
  };
}

function rewriteParts(content: unknown[], r: ChatTextRewrite): unknown[] {
  return content.map((part: unknown) => {
    if (!isObject(part)) return part;
    if (typeof part.text === 'string') return { ...part, text: r.text(part.text) };
    if (part.type === 'refusal' && typeof part.refusal === 'string')
      return { ...part, refusal: r.text(part.refusal) };
    return part;
  });
}

function rewriteFunction(fn: unknown, r: ChatTextRewrite): unknown {
  if (!isObject(fn) || typeof fn.arguments !== 'string') return fn;
  return { ...fn, arguments: r.json(fn.arguments) };
}

/**
 * Rewrites every free-text field of one chat message (a request message, or an answer's `message`): `content`
 * (string, or the `text` of every part that has one and the `refusal` of refusal parts), `refusal`, `name`,
 * and the `arguments` of `tool_calls[].function` and the legacy `function_call` (as JSON). Returns a new object
 * when it is one; never mutates.
 */
export function rewriteChatMessage<M>(message: M, r: ChatTextRewrite): M {
  if (!isObject(message)) return message;
  const out: Record<string, unknown> = { ...message };
  const content = message.content;
  if (typeof content === 'string') out.content = r.text(content);
  else if (Array.isArray(content)) out.content = rewriteParts(content, r);
  if (typeof message.refusal === 'string') out.refusal = r.text(message.refusal);
  if (typeof message.name === 'string') out.name = r.text(message.name);
  if (Array.isArray(message.tool_calls)) {
    out.tool_calls = message.tool_calls.map((call: unknown) =>
      isObject(call) && 'function' in call ? { ...call, function: rewriteFunction(call.function, r) } : call,
    );
  }
  if ('function_call' in message) out.function_call = rewriteFunction(message.function_call, r);
  return out as M;
}

/**
 * Rewrites the answer of a (non-streamed) chat completion: each `choices[].message` as
 * {@link rewriteChatMessage} does. Anything that is not that shape is returned as is.
 */
export function rewriteChatCompletion(body: unknown, r: ChatTextRewrite): unknown {
  if (!isObject(body) || !Array.isArray(body.choices)) return body;
  return {
    ...body,
    choices: body.choices.map((choice: unknown) =>
      isObject(choice) && isObject(choice.message)
        ? { ...choice, message: rewriteChatMessage(choice.message, r) }
        : choice,
    ),
  };
}

/**
 * Redacts every message before it leaves for an upstream model: `content` (string content, and the text of
 * every text-like part: `text`, `input_text`, `output_text`, `refusal`...), `refusal`, `name`, and the
 * `arguments` of tool calls, inside their JSON string values so the JSON stays valid (arguments that are not
 * JSON are redacted as text). `tool` role messages are redacted like any other. Other parts (`image_url`,
 * `input_audio`, ...) and fields are kept as they are.
 *
 * With `opts.placeholders`, items become numbered placeholders that the map can put back (reversible mode).
 *
 * Nothing is mutated: the result is a new array of new message objects (and new part arrays, parts and tool
 * calls where they changed); untouched parts and fields are shared with the input.
 *
 * @throws {TypeError} if `messages` is not an array or `opts.kinds` is not a Set of PII kinds.
 * @example
 * redactChatMessages([{ role: 'user', content: [{ type: 'text', text: 'SSN 123-45-6789' }] }])
 * // [{ role: 'user', content: [{ type: 'text', text: 'SSN [SSN]' }] }]
 */
export function redactChatMessages<M extends ChatMessageLike>(
  messages: readonly M[],
  opts?: ChatRedactOptions,
): M[] {
  if (!Array.isArray(messages)) throw new TypeError('redactChatMessages: expected an array of messages');
  const kinds = selectedKinds(opts);
  const r = redactingRewrite(kinds, opts?.placeholders?.replacer ?? maskReplacer);
  return messages.map((message): M => rewriteChatMessage(message, r));
}
