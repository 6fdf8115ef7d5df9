/**
 * The permission matrix: the one place that says which role may do what. Routes call `can(role, action)`
 * through `requireOrg`; docs/SECURITY-CONTROLS.md renders this table and a test checks every role × action.
 */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  'org.read',
  'org.delete',
  'members.read',
  'members.manage',
  'members.manage_owners',
  'apikeys.read',
  'apikeys.manage',
  'runtime_tokens.manage',
  'settings.read',
  'settings.write',
  'secrets.read',
  'secrets.write',
  'audit.read',
  'audit.sinks',
  'providers.read',
  'providers.write',
  'usage.read',
  'jobs.read',
  'jobs.write',
  'jobs.run',
  'alerts.read',
  'alerts.write',
  'widgets.read',
  'widgets.write',
  'billing.read',
  'billing.manage',
  'dbaccess.read',
  'dbaccess.manage',
  'dbaccess.query',
  'skills.read',
  'skills.publish',
  'signing_keys.manage',
] as const;
export type Action = (typeof ACTIONS)[number];

const MATRIX: Record<Action, readonly Role[]> = {
  'org.read': ['owner', 'admin', 'member', 'viewer'],
  'org.delete': ['owner'],
  'members.read': ['owner', 'admin', 'member', 'viewer'],
  'members.manage': ['owner', 'admin'],
  'members.manage_owners': ['owner'],
  'apikeys.read': ['owner', 'admin', 'member'],
  'apikeys.manage': ['owner', 'admin'],
  'runtime_tokens.manage': ['owner', 'admin'],
  'settings.read': ['owner', 'admin', 'member', 'viewer'],
  'settings.write': ['owner', 'admin'],
  'secrets.read': ['owner', 'admin', 'member'],
  'secrets.write': ['owner', 'admin'],
  'audit.read': ['owner', 'admin'],
  'audit.sinks': ['owner', 'admin'],
  'providers.read': ['owner', 'admin', 'member'],
  'providers.write': ['owner', 'admin'],
  'usage.read': ['owner', 'admin', 'member', 'viewer'],
  'jobs.read': ['owner', 'admin', 'member', 'viewer'],
  'jobs.write': ['owner', 'admin', 'member'],
  'jobs.run': ['owner', 'admin', 'member'],
  'alerts.read': ['owner', 'admin', 'member', 'viewer'],
  'alerts.write': ['owner', 'admin'],
  'widgets.read': ['owner', 'admin', 'member', 'viewer'],
  'widgets.write': ['owner', 'admin'],
  'billing.read': ['owner', 'admin', 'member', 'viewer'],
  'billing.manage': ['owner'],
  'dbaccess.read': ['owner', 'admin', 'member'],
  'dbaccess.manage': ['owner', 'admin'],
  'dbaccess.query': ['owner', 'admin', 'member'],
  'skills.read': ['owner', 'admin', 'member', 'viewer'],
  'skills.publish': ['owner', 'admin', 'member'],
  'signing_keys.manage': ['owner', 'admin'],
};

export const can = (role: Role, action: Action): boolean => MATRIX[action].includes(role);

export const isRole = (s: unknown): s is Role =>
  typeof s === 'string' && (ROLES as readonly string[]).includes(s);

/**
 * API key scopes: what a program holding an org API key may do. Keys created without `scopes` get
 * {@link DEFAULT_API_KEY_SCOPES}. A scope is checked by the routes that accept keys (`config.apiKeyScope` on org
 * routes, see org-routes.ts; the gateway and MCP surfaces ask for theirs).
 */
export const API_KEY_SCOPES = ['gateway', 'db.query', 'skills.publish', 'audit.read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
/** What every key could do before scopes existed: kept as the default so existing clients keep working. */
export const DEFAULT_API_KEY_SCOPES: readonly ApiKeyScope[] = ['gateway', 'db.query', 'skills.publish'];

export const isApiKeyScope = (s: unknown): s is ApiKeyScope =>
  typeof s === 'string' && (API_KEY_SCOPES as readonly string[]).includes(s);

/**
 * The action a member must hold, on top of `apikeys.manage`, to give a key a scope (null: none, `apikeys.manage`
 * alone grants it). A key never reads more than
 * the person who made it; `audit.read` and `skills.publish` are also re-checked against the creator's role on
 * every request.
 */
export const SCOPE_ACTIONS: Record<ApiKeyScope, Action | null> = {
  gateway: null,
  'db.query': 'dbaccess.query',
  'skills.publish': 'skills.publish',
  'audit.read': 'audit.read',
};

/** Whether `role` may create a key carrying `scope`: `apikeys.manage`, and the scope's action if it has one. */
export const canGrant = (role: Role, scope: ApiKeyScope): boolean => {
  const action = SCOPE_ACTIONS[scope];
  return can(role, 'apikeys.manage') && (action === null || can(role, action));
};

/** Markdown table of the scopes, for docs/SECURITY-CONTROLS.md (a test checks the docs match). */
export function scopeTable(): string {
  const head = '| scope | default | the creator needs | roles that may grant it |\n|---|---|---|---|\n';
  return (
    head +
    API_KEY_SCOPES.map((sc) => {
      const action = SCOPE_ACTIONS[sc];
      const needs = ['apikeys.manage', ...(action ? [action] : [])].map((a) => `\`${a}\``).join(', ');
      const def = DEFAULT_API_KEY_SCOPES.includes(sc) ? 'yes' : '-';
      return `| \`${sc}\` | ${def} | ${needs} | ${ROLES.filter((r) => canGrant(r, sc)).join(', ')} |`;
    }).join('\n')
  );
}

/** Markdown table of the matrix, for docs/SECURITY-CONTROLS.md (a test checks the docs match). */
export function permissionTable(): string {
  const head = `| action | ${ROLES.join(' | ')} |\n|---|${ROLES.map(() => '---').join('|')}|\n`;
  return (
    head +
    ACTIONS.map((a) => `| \`${a}\` | ${ROLES.map((r) => (can(r, a) ? 'yes' : '-')).join(' | ')} |`).join('\n')
  );
}
