/**
 * Rewrites the text of a streamed (SSE) chat completion as it passes: each choice's `delta.content` and
 * `delta.refusal`, and each tool call's `delta.tool_calls[].function.arguments`, go through their own streaming
 * rewriter, which may hold back a short tail (an item or a placeholder split across chunks). What is held is
 * sent with the choice's finishing chunk, or in a chunk of its own before `[DONE]` or at the end of the stream.
 * Events that are not JSON chunks (comments, `[DONE]`) pass through.
 */

/** One streaming text rewriter: `push` gives what can be sent now, `flush` the rest at the end. */
export interface StreamPiece {
  push(text: string): string;
  flush(): string;
}

export interface StreamPieces {
  text(): StreamPiece;
  json(): StreamPiece;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ChoiceState {
  content?: StreamPiece;
  refusal?: StreamPiece;
  tools: Map<number, StreamPiece>;
  done: boolean;
}

/** Longest event the rewriter buffers while waiting for its end (a blank line). */
const MAX_EVENT = 4 * 1024 * 1024;

/** Cuts decoded SSE text into whole events (blank-line separated, any line ending), holding a partial one. */
export class SseFrames {
  #buffer = '';

  /** The events completed by `text`, without their separator. @throws Error if an event is oversized */
  push(text: string): string[] {
    this.#buffer += text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const out: string[] = [];
    let end = this.#buffer.indexOf('\n\n');
    while (end >= 0) {
      out.push(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end + 2);
      end = this.#buffer.indexOf('\n\n');
    }
    if (this.#buffer.length > MAX_EVENT) throw new Error('SSE event too large');
    return out;
  }

  /** What is held (a partial event), emptied. */
  rest(): string {
    const rest = this.#buffer;
    this.#buffer = '';
    return rest;
  }
}

/** An event's `data:` lines, joined as the SSE spec says (one optional space after the colon). */
export function sseData(event: string): string {
  return event
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
    .join('\n');
}

export class ChatSseRewriter {
  readonly #pieces: StreamPieces;
  readonly #choices = new Map<number, ChoiceState>();
  readonly #frames = new SseFrames();
  #template: Obj = {};

  constructor(pieces: StreamPieces) {
    this.#pieces = pieces;
  }

  /** Takes decoded upstream text; returns the SSE text to send now. @throws Error if an event is oversized */
  push(text: string): string {
    return this.#frames
      .push(text)
      .map((e) => this.#event(e))
      .join('');
  }

  /** The upstream ended: whatever is still held, as a last chunk (and a trailing partial event as is). */
  end(): string {
    const rest = this.#frames.rest();
    return this.#flushAll() + (rest.trim() ? this.#event(rest) : '');
  }

  #event(event: string): string {
    const lines = event.split('\n');
    const data = sseData(event);
    if (data.trim() === '[DONE]') return `${this.#flushAll()}${event}\n\n`;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return `${event}\n\n`;
    }
    if (!isObject(chunk) || !Array.isArray(chunk.choices)) return `${event}\n\n`;
    const { choices: _, usage: __, ...template } = chunk;
    this.#template = template;
    const choices = chunk.choices.map((c: unknown) => this.#choice(c));
    const other = lines.filter((l) => !l.startsWith('data:'));
    return `${other.map((l) => `${l}\n`).join('')}data: ${JSON.stringify({ ...chunk, choices })}\n\n`;
  }

  #state(index: number): ChoiceState {
    let s = this.#choices.get(index);
    if (!s) {
      s = { tools: new Map(), done: false };
      this.#choices.set(index, s);
    }
    return s;
  }

  #choice(choice: unknown): unknown {
    if (!isObject(choice) || !isObject(choice.delta)) return choice;
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const s = this.#state(index);
    const delta: Obj = { ...choice.delta };
    if (typeof delta.content === 'string') {
      s.content ??= this.#pieces.text();
      delta.content = s.content.push(delta.content);
    }
    if (typeof delta.refusal === 'string') {
      s.refusal ??= this.#pieces.text();
      delta.refusal = s.refusal.push(delta.refusal);
    }
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls = delta.tool_calls.map((call: unknown) => {
        if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== 'string')
          return call;
        const i = typeof call.index === 'number' ? call.index : 0;
        let piece = s.tools.get(i);
        if (!piece) {
          piece = this.#pieces.json();
          s.tools.set(i, piece);
        }
        return { ...call, function: { ...call.function, arguments: piece.push(call.function.arguments) } };
      });
    }
    // The legacy `function_call` (one call per choice): kept under tool index -1.
    if (isObject(delta.function_call) && typeof delta.function_call.arguments === 'string') {
      let piece = s.tools.get(-1);
      if (!piece) {
        piece = this.#pieces.json();
        s.tools.set(-1, piece);
      }
      delta.function_call = { ...delta.function_call, arguments: piece.push(delta.function_call.arguments) };
    }
    if (choice.finish_reason != null) this.#flushChoice(s, delta);
    return { ...choice, delta };
  }

  /** Adds what `s` still holds to `delta`. */
  #flushChoice(s: ChoiceState, delta: Obj): void {
    if (s.done) return;
    s.done = true;
    const content = s.content?.flush();
    if (content) delta.content = `${typeof delta.content === 'string' ? delta.content : ''}${content}`;
    const refusal = s.refusal?.flush();
    if (refusal) delta.refusal = `${typeof delta.refusal === 'string' ? delta.refusal : ''}${refusal}`;
    const calls = Array.isArray(delta.tool_calls) ? [...delta.tool_calls] : [];
    for (const [i, piece] of s.tools) {
      const rest = piece.flush();
      if (!rest) continue;
      if (i === -1) {
        const fn = isObject(delta.function_call) ? delta.function_call : {};
        delta.function_call = {
          ...fn,
          arguments: `${typeof fn.arguments === 'string' ? fn.arguments : ''}${rest}`,
        };
        continue;
      }
      const at = calls.findIndex((c) => isObject(c) && c.index === i && isObject(c.function));
      if (at >= 0) {
        const c = calls[at] as Obj;
        const fn = c.function as Obj;
        calls[at] = { ...c, function: { ...fn, arguments: `${String(fn.arguments ?? '')}${rest}` } };
      } else calls.push({ index: i, function: { arguments: rest } });
    }
    if (calls.length) delta.tool_calls = calls;
  }

  /** One chunk carrying what every unfinished choice still holds ('' when nothing is held). */
  #flushAll(): string {
    const choices: unknown[] = [];
    for (const [index, s] of this.#choices) {
      if (s.done) continue;
      const delta: Obj = {};
      this.#flushChoice(s, delta);
      if (Object.keys(delta).length) choices.push({ index, delta, finish_reason: null });
    }
    if (!choices.length) return '';
    return `data: ${JSON.stringify({ ...this.#template, choices })}\n\n`;
  }
}
