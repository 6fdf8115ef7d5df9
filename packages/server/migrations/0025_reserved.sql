-- 0025 is taken by another branch (issue 24); this placeholder keeps the numbering contiguous on this branch
-- only. Drop this file at merge, when the real 0025 lands.
SELECT 1;
