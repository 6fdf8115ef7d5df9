/**
 * Every column holding a seal envelope. Key rotation and the plaintext backfill walk this list, so a sealed
 * column that is not registered here would be skipped by both: a test checks that every `*_sealed` column in
 * the schema appears below.
 */
export interface SealedColumn {
  table: string;
  column: string;
  /** Primary-key column; its value is the AAD row id. */
  idColumn: string;
  /** Tenant column, or null for platform-level tables (AAD org = null). */
  orgColumn: string | null;
  /**
   * Text column holding `mask(plaintext)` for display, if the table has one. The plaintext backfill fills it
   * where it is NULL or empty (a legacy row may predate it); it never overwrites a mask already there.
   */
  maskedColumn?: string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: 'org_secrets',
    column: 'value_sealed',
    idColumn: 'id',
    orgColumn: 'org_id',
    maskedColumn: 'masked',
  },
  { table: 'users', column: 'totp_secret_sealed', idColumn: 'id', orgColumn: null },
  {
    table: 'oidc_providers',
    column: 'client_secret_sealed',
    idColumn: 'id',
    orgColumn: null,
    maskedColumn: 'client_secret_masked',
  },
  {
    table: 'platform_settings',
    column: 'value_sealed',
    idColumn: 'key',
    orgColumn: null,
    maskedColumn: 'value_masked',
  },
  { table: 'oidc_login_states', column: 'code_verifier_sealed', idColumn: 'id', orgColumn: null },
  // Queued mail (links are bearer secrets); AAD org is null even for an org's job alerts, read in platform context.
  { table: 'mail_outbox', column: 'payload_sealed', idColumn: 'id', orgColumn: null },
  {
    table: 'llm_providers',
    column: 'api_key_sealed',
    idColumn: 'id',
    orgColumn: 'org_id',
    maskedColumn: 'api_key_masked',
  },
  // No maskedColumn for jobs: headers_masked is jsonb per header, and auth_masked shows env: references as
  // written (jobs/values.ts displayValue), which mask() would not; a NULL auth_masked reads as '****'.
  { table: 'jobs', column: 'headers_sealed', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'jobs', column: 'auth_sealed', idColumn: 'id', orgColumn: 'org_id' },
  {
    table: 'alert_channels',
    column: 'secret_sealed',
    idColumn: 'id',
    orgColumn: 'org_id',
    maskedColumn: 'secret_masked',
  },
  {
    table: 'audit_sinks',
    column: 'secret_sealed',
    idColumn: 'id',
    orgColumn: 'org_id',
    maskedColumn: 'secret_masked',
  },
  // Widget conversations: the visitor's question (redacted first when the org redacts) and the reply.
  { table: 'widget_conversation_messages', column: 'question_sealed', idColumn: 'id', orgColumn: 'org_id' },
  { table: 'widget_conversation_messages', column: 'reply_sealed', idColumn: 'id', orgColumn: 'org_id' },
];
