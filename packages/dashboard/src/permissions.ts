// The server's permission matrix, imported from its source: the dashboard shows only what the role may do,
// from the same table the server enforces (and still enforces: hiding a button is not a control).
export {
  type Action,
  API_KEY_SCOPES,
  type ApiKeyScope,
  can,
  canGrant,
  DEFAULT_API_KEY_SCOPES,
  type Role,
} from '../../server/src/platform/permissions';
