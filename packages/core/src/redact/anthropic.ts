import { type ChatRedactOptions, type ChatTextRewrite, redactingRewrite } from './chat.js';
import { selectedKinds } from './detect.js';
import { maskReplacer } from './reversible.js';

/**
 * Redaction of Anthropic Messages API bodies: a request's `system` and `messages`, and a (non-streamed) answer's
 * `content`. The same rewrites as the OpenAI chat path ({@link ChatTextRewrite}): text as text, tool inputs as
 * JSON so their shape is kept.
 */

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rewrites every string of a plain value (an object key, a string, a number that reads as an item). */
function walk(v: unknown, r: ChatTextRewrite): unknown {
  if (typeof v === 'string') return r.text(v);
  if (typeof v === 'number') {
    const text = String(v);
    const out = r.text(text);
    return out === text ? v : out;
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, r));
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[r.text(k)] = walk(x, r);
    return out;
  }
  return v;
}

/**
 * A JSON value (a `tool_use` block's `input`) rewritten through the rewrite's JSON path, as OpenAI tool-call
 * arguments are: items inside string values, and a bare number that is an item becomes a string. Falls back to
 * rewriting each string of the value if the rewritten text were not JSON.
 */
export function rewriteJsonValue(value: unknown, r: ChatTextRewrite): unknown {
  if (value === undefined) return value;
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  const out = r.json(text);
  if (out === text) return value;
  try {
    return JSON.parse(out) as unknown;
  } catch {
    return walk(value, r);
  }
}

function rewriteCitations(citations: unknown, r: ChatTextRewrite): unknown {
  if (!Array.isArray(citations)) return citations;
  return citations.map((c: unknown) =>
    isObject(c) && typeof c.cited_text === 'string' ? { ...c, cited_text: r.text(c.cited_text) } : c,
  );
}

/** `string | blocks[]` content (a message, a `tool_result`, a `content` document source). */
function rewriteContent(content: unknown, r: ChatTextRewrite): unknown {
  if (typeof content === 'string') return r.text(content);
  if (Array.isArray(content)) return content.map((b: unknown) => rewriteAnthropicBlock(b, r));
  return content;
}

/**
 * Rewrites one content block: `text` (and the `cited_text` of its citations), `tool_use` / `server_tool_use`
 * `input` (as JSON), `tool_result` content (string or blocks), `document` blocks with a plain-text or content
 * source (and their `title` and `context`), and `search_result` content. `thinking` and `redacted_thinking`
 * blocks are kept byte for byte: the model signs them, and a changed one is refused when sent back. Images and
 * unknown block types are kept as they are. Never mutates.
 */
export function rewriteAnthropicBlock(block: unknown, r: ChatTextRewrite): unknown {
  if (!isObject(block)) return block;
  switch (block.type) {
    case 'thinking':
    case 'redacted_thinking':
      return block;
    case 'tool_use':
    case 'server_tool_use':
      return 'input' in block ? { ...block, input: rewriteJsonValue(block.input, r) } : block;
    case 'tool_result':
      return 'content' in block ? { ...block, content: rewriteContent(block.content, r) } : block;
    case 'document': {
      const out: Obj = { ...block };
      const source = block.source;
      if (isObject(source)) {
        if (source.type === 'text' && typeof source.data === 'string')
          out.source = { ...source, data: r.text(source.data) };
        else if (source.type === 'content')
          out.source = { ...source, content: rewriteContent(source.content, r) };
      }
      if (typeof block.title === 'string') out.title = r.text(block.title);
      if (typeof block.context === 'string') out.context = r.text(block.context);
      return out;
    }
    case 'search_result': {
      const out: Obj = { ...block, content: rewriteContent(block.content, r) };
      if (typeof block.title === 'string') out.title = r.text(block.title);
      return out;
    }
  }
  if (typeof block.text !== 'string') return block;
  const out: Obj = { ...block, text: r.text(block.text) };
  if ('citations' in block) out.citations = rewriteCitations(block.citations, r);
  return out;
}

/**
 * Rewrites a Messages API request body: `system` (string or text blocks) and each message's `content` (string or
 * blocks, see {@link rewriteAnthropicBlock}). Every other field (tools, model, metadata...) is kept as is.
 */
export function rewriteAnthropicRequest<B extends Obj>(body: B, r: ChatTextRewrite): B {
  const out: Obj = { ...body };
  if ('system' in body) out.system = rewriteContent(body.system, r);
  if (Array.isArray(body.messages)) {
    out.messages = body.messages.map((m: unknown) =>
      isObject(m) && 'content' in m ? { ...m, content: rewriteContent(m.content, r) } : m,
    );
  }
  return out as B;
}

/** Rewrites a (non-streamed) Messages API answer's `content` blocks; anything else is returned as is. */
export function rewriteAnthropicMessage(body: unknown, r: ChatTextRewrite): unknown {
  if (!isObject(body) || !Array.isArray(body.content)) return body;
  return { ...body, content: rewriteContent(body.content, r) };
}

/**
 * Redacts a Messages API request before it leaves for an upstream model (see {@link rewriteAnthropicRequest}):
 * with `opts.placeholders`, items become numbered placeholders that the map can put back (reversible mode).
 * @example
 * redactAnthropicRequest({ model: 'm', max_tokens: 9, messages: [{ role: 'user', content: 'SSN 123-45-6789' }] })
 * // { model: 'm', max_tokens: 9, messages: [{ role: 'user', content: 'SSN [SSN]' }] }
 */
export function redactAnthropicRequest<B extends Obj>(body: B, opts?: ChatRedactOptions): B {
  const r = redactingRewrite(selectedKinds(opts), opts?.placeholders?.replacer ?? maskReplacer);
  return rewriteAnthropicRequest(body, r);
}
