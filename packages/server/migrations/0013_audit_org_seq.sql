-- 0013 an index for reading one org's audit log in seq order (the audit API's pages and exports).
-- The chain's unique index is on (coalesce(org_id, <platform>), seq): a query on org_id = $1 cannot use it,
-- and the row-level-security predicate (org_id = current org) keeps the coalesce form from being an index
-- condition either, so without this index a page read and sorted the org's whole log (0.2 s a page at 300k
-- rows, found by the load bench's 10-minute soak). This index serves both the policy and the order.
-- Building it blocks writes to audit_log while it runs; on a large existing log, create it beforehand with
-- CREATE INDEX CONCURRENTLY audit_log_org_seq ON audit_log (org_id, seq); and this migration skips it.
CREATE INDEX IF NOT EXISTS audit_log_org_seq ON audit_log (org_id, seq);
