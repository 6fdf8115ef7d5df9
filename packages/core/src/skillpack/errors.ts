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
export class SkillPackError extends Error {
  readonly code: SkillPackErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: SkillPackErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'SkillPackError';
    this.code = code;
    this.details = details;
  }
}
