/** What every core error serialises to: the class name, the stable code and the fixed-text message. */
export interface CoreErrorJSON<Code extends string> {
  name: string;
  code: Code;
  message: string;
}

/** Options for {@link CoreError}. A `cause` is kept for debugging but never serialised. */
export interface CoreErrorOptions {
  cause?: unknown;
}

const FIXED = new Set(['name', 'code', 'message']);

/**
 * The base of every error class core (and the CLI's vault) throws for data or configuration problems. Callers
 * branch on `code`, never on `message`; messages are fixed text (plus positions, field names or paths), never a
 * secret input. Structured loggers serialise errors with JSON.stringify, so `toJSON` keeps that output to the
 * safe fields: name, code, message and what the subclass lists in {@link safeFields}. The stack, the `cause`
 * (often a library error whose text we do not control, e.g. jose's carries the claims) and any other property
 * are left out.
 *
 * @example
 * export class TotpError extends CoreError<TotpErrorCode> { override readonly name = 'TotpError'; }
 */
export class CoreError<Code extends string, Safe extends object = Record<never, never>> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: CoreErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
  }

  /**
   * Fields beyond name, code and message that are safe to log: fixed identifiers, positions and reasons, never
   * values. Fields that are `undefined` are left out of the JSON.
   */
  protected safeFields(): { [K in keyof Safe]?: Safe[K] | undefined } {
    return {};
  }

  toJSON(): CoreErrorJSON<Code> & Partial<Safe> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this.safeFields())) {
      if (value !== undefined && !FIXED.has(key)) out[key] = value;
    }
    return out as CoreErrorJSON<Code> & Partial<Safe>;
  }
}
