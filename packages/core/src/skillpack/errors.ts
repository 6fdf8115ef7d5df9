import { CoreError } from '../errors/core-error.js';

/** Why a package, manifest or signature was refused. Codes are stable; messages are for people. */
export type SkillPackErrorCode =
  | 'malformed_package'
  | 'malformed_manifest'
  | 'invalid_signature'
  | 'untrusted_key'
  | 'hash_mismatch'
  | 'size_mismatch'
  | 'missing_file'
  | 'unexpected_file'
  | 'auth_material'
  | 'too_large';

/** A refusal with a machine-readable code; `details` never holds file contents, only paths and reasons. */
export class SkillPackError extends CoreError<SkillPackErrorCode, { details: Record<string, unknown> }> {
  override readonly name = 'SkillPackError';
  readonly details: Record<string, unknown>;

  constructor(code: SkillPackErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message);
    this.details = details;
  }

  protected override safeFields(): { details: Record<string, unknown> } {
    return { details: this.details };
  }
}
