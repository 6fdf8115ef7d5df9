export {
  type AttributeRef,
  type CatalogNeeds,
  checkSelect,
  type GuardVerdict,
  loadSqlGuard,
} from './guard.js';
export { ALLOWED_CAST_TYPES, ALLOWED_FUNCTIONS, IMPLICIT_OPERATORS } from './policy.js';
export { type QueryReferences, queryReferences, type RelationRef } from './references.js';
export type { ColumnProof, TableName } from './scope.js';
