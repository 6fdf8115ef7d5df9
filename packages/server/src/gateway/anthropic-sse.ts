/**
 * Anthropic Messages API streams (SSE): `message_start`, `content_block_start`, `content_block_delta`,
 * `content_block_stop`, `message_delta`, `message_stop`, `ping` and `error` events.
 *
 * {@link MessagesSseRewriter} rewrites the text of a streamed answer as it passes: each content block's
 * `text_delta` text and `input_json_delta` partial JSON go through their own streaming rewriter, which may hold
 * back a short tail (an item or a placeholder split across deltas). What a block holds is sent as one more delta
 * of that block just before its `content_block_stop` (or before `message_delta`, an `error` or the end of the
 * stream). Citations' `cited_text` is rewritten whole. Thinking and signature deltas pass untouched (the model
 * signs them). {@link MessagesUsage} reads the usage counts as the events pass.
 */
import type { ChatTextRewrite } from '@rampart/core/redact';
import { rewriteJsonValue } from '@rampart/core/redact';
import { SseFrames, type StreamPiece, type StreamPieces, sseData } from './sse.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Block {
  piece: StreamPiece;
  delta: 'text_delta' | 'input_json_delta';
  done: boolean;
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export class MessagesSseRewriter {
  readonly #pieces: StreamPieces;
  readonly #rewrite: ChatTextRewrite;
  readonly #blocks = new Map<number, Block>();
  readonly #frames = new SseFrames();

  constructor(pieces: StreamPieces, rewrite: ChatTextRewrite) {
    this.#pieces = pieces;
    this.#rewrite = rewrite;
  }

  /** Takes decoded upstream text; returns the SSE text to send now. @throws Error if an event is oversized */
  push(text: string): string {
    return this.#frames
      .push(text)
      .map((e) => this.#event(e))
      .join('');
  }

  /** The upstream ended: whatever blocks still hold, then a trailing partial event as is. */
  end(): string {
    const rest = this.#frames.rest();
    return this.#flushAll() + (rest.trim() ? this.#event(rest) : '');
  }

  #event(event: string): string {
    const lines = event.split('\n');
    const data = sseData(event);
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return `${event}\n\n`;
    }
    if (!isObject(msg)) return `${event}\n\n`;
    const other = lines.filter((l) => !l.startsWith('data:'));
    const emit = (m: Obj) => `${other.map((l) => `${l}\n`).join('')}data: ${JSON.stringify(m)}\n\n`;
    const index = typeof msg.index === 'number' ? msg.index : 0;
    switch (msg.type) {
      case 'content_block_start':
        return emit(this.#start(index, msg));
      case 'content_block_delta':
        return emit(this.#delta(index, msg));
      case 'content_block_stop':
        return this.#flushBlock(index) + emit(msg);
      case 'message_delta':
      case 'message_stop':
      case 'error':
        return this.#flushAll() + emit(msg);
      default:
        return `${event}\n\n`;
    }
  }

  #start(index: number, msg: Obj): Obj {
    const block = msg.content_block;
    if (!isObject(block)) return msg;
    if (block.type === 'text') {
      const b: Block = { piece: this.#pieces.text(), delta: 'text_delta', done: false };
      this.#blocks.set(index, b);
      const out: Obj = { ...block };
      if (typeof block.text === 'string') out.text = b.piece.push(block.text);
      if (Array.isArray(block.citations))
        out.citations = block.citations.map((c: unknown) => this.#citation(c));
      return { ...msg, content_block: out };
    }
    if (block.type === 'tool_use' || block.type === 'server_tool_use') {
      this.#blocks.set(index, { piece: this.#pieces.json(), delta: 'input_json_delta', done: false });
      // The input usually arrives as `{}` here and in input_json_delta pieces after.
      return 'input' in block
        ? { ...msg, content_block: { ...block, input: rewriteJsonValue(block.input, this.#rewrite) } }
        : msg;
    }
    return msg;
  }

  #citation(c: unknown): unknown {
    return isObject(c) && typeof c.cited_text === 'string'
      ? { ...c, cited_text: this.#rewrite.text(c.cited_text) }
      : c;
  }

  #delta(index: number, msg: Obj): Obj {
    const delta = msg.delta;
    if (!isObject(delta)) return msg;
    const b = this.#blocks.get(index);
    if (delta.type === 'text_delta' && typeof delta.text === 'string' && b?.delta === 'text_delta')
      return { ...msg, delta: { ...delta, text: b.piece.push(delta.text) } };
    if (
      delta.type === 'input_json_delta' &&
      typeof delta.partial_json === 'string' &&
      b?.delta === 'input_json_delta'
    )
      return { ...msg, delta: { ...delta, partial_json: b.piece.push(delta.partial_json) } };
    if (delta.type === 'citations_delta')
      return { ...msg, delta: { ...delta, citation: this.#citation(delta.citation) } };
    // A text delta for a block whose start we did not see: rewrite it on its own rather than pass it raw.
    if (delta.type === 'text_delta' && typeof delta.text === 'string')
      return { ...msg, delta: { ...delta, text: this.#rewrite.text(delta.text) } };
    return msg;
  }

  /** One more delta of block `index` with what its rewriter still holds ('' when nothing). */
  #flushBlock(index: number): string {
    const b = this.#blocks.get(index);
    if (!b || b.done) return '';
    b.done = true;
    const rest = b.piece.flush();
    if (!rest) return '';
    const delta =
      b.delta === 'text_delta'
        ? { type: 'text_delta', text: rest }
        : { type: 'input_json_delta', partial_json: rest };
    return sse('content_block_delta', { type: 'content_block_delta', index, delta });
  }

  #flushAll(): string {
    let out = '';
    for (const index of this.#blocks.keys()) out += this.#flushBlock(index);
    return out;
  }
}

/** Token counts of a Messages API answer (upstream-reported, untrusted: checked where they are recorded). */
export interface MessagesUsageCounts {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
}

/** The longest SSE line read for usage; longer ones (big deltas) cannot carry it and are skipped. */
const MAX_LINE = 64 * 1024;

/**
 * Reads usage from a Messages API stream as it passes: `message_start.message.usage` (input counts), then each
 * `message_delta.usage` (cumulative counts, which replace the earlier ones). Also notes an `error` event.
 */
export class MessagesUsage {
  usage: MessagesUsageCounts | undefined;
  /** The `error.type` of an error event the upstream sent mid-stream. */
  streamError: string | undefined;
  #line = '';
  #skip = false;

  push(text: string): void {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      if (!this.#skip) this.#read(this.#line + text.slice(from, nl));
      this.#line = '';
      this.#skip = false;
      from = nl + 1;
    }
    if (this.#skip) return;
    this.#line += text.slice(from);
    if (this.#line.length > MAX_LINE) {
      this.#line = '';
      this.#skip = true;
    }
  }

  /** Reads a non-streamed answer's `usage`. */
  fromMessage(body: unknown): void {
    if (isObject(body) && isObject(body.usage)) this.usage = body.usage;
  }

  #read(line: string): void {
    if (!line.startsWith('data:')) return;
    if (!line.includes('"usage"') && !line.includes('"error"')) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    if (!isObject(msg)) return;
    if (msg.type === 'message_start' && isObject(msg.message) && isObject(msg.message.usage))
      this.usage = { ...msg.message.usage };
    else if (msg.type === 'message_delta' && isObject(msg.usage)) {
      const next: Obj = { ...this.usage };
      for (const [k, v] of Object.entries(msg.usage)) if (v !== null && v !== undefined) next[k] = v;
      this.usage = next;
    } else if (msg.type === 'error') {
      const type = isObject(msg.error) ? msg.error.type : undefined;
      this.streamError = typeof type === 'string' ? type.slice(0, 60) : 'error';
    }
  }
}
