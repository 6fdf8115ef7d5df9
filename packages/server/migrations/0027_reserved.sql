-- 0027 reserved: another branch takes this number; this placeholder keeps the sequence gap-free here and is
-- dropped at merge.
SELECT 1;
