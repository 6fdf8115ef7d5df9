export { type CreateOptions, createRampart, type Rampart, type Services, VERSION } from './app.js';
export {
  BackupError,
  backupKind,
  backupPglite,
  backupPostgres,
  restorePglite,
  restorePostgres,
} from './db/backup.js';
export { Database } from './db/database.js';
export { acquirePidLock } from './db/lockfile.js';
export { loadMigrations, migrate } from './db/migrate.js';
export { openDatabase } from './db/open.js';
export { SEALED_COLUMNS } from './db/sealed-columns.js';
export type { EngineName, Queryable, TenantContext } from './db/types.js';
export {
  type AgentOptions,
  ReadOnlyCheckError,
  type RunningAgent,
  runAgent,
} from './dbaccess/agent-client.js';
export { type AgentPolicy, loadAgentPolicy } from './dbaccess/agent-policy.js';
export { listMail, type MailListFilter, type MailRecord } from './mail/admin.js';
export {
  getNotice,
  listNotices,
  MAX_NOTICE_ORGS,
  type NoticeDetail,
  type NoticeInput,
  type NoticeSummary,
  noticeInput,
  sendNotice,
} from './mail/notices.js';
export { SmtpDeliveryError, SmtpMailer, type SmtpOutcome, SmtpUrlError } from './mail/smtp.js';
export { renderMail } from './mail/templates.js';
export { type AuditActor, type AuditEvent, appendAudit } from './platform/audit/append.js';
export {
  type AuditEntry,
  type AuditFilter,
  csvHeader,
  csvLine,
  iterateAudit,
  ndjsonLine,
  readAuditPage,
} from './platform/audit/export.js';
export { listChains, type VerifyResult, verifyChain } from './platform/audit/verify.js';
export { type Config, ConfigError, loadConfig, MAX_WORKERS, workerCount } from './platform/config.js';
export { AppError, ERROR_CODES, ERROR_STATUS, type ErrorCode } from './platform/errors.js';
export { resolveKeyMaterial } from './platform/keys.js';
export { createLogger } from './platform/logger.js';
export { PlatformSettings, SETTING_DEFS, SETTING_KEYS, type SettingKey } from './platform/settings.js';
export { type BackfillProgress, type BackfillResult, backfillSecrets } from './secrets/backfill.js';
export { type RotateProgress, rotateKeys } from './secrets/rotate.js';
export { listSecrets, putSecret, readSecret } from './secrets/service.js';
export { createOperator } from './tenancy/operators.js';
