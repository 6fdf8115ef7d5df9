export { checkSelect, type GuardVerdict, loadSqlGuard } from './guard.js';
export { ALLOWED_CAST_TYPES, ALLOWED_FUNCTIONS } from './policy.js';
export { type QueryReferences, queryReferences, type RelationRef } from './references.js';
