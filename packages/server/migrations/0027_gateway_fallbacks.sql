-- 0027 gateway fallbacks (issue 24 §3): an ordered list of providers per model, `{"<model>": ["a", "b"]}`, for the
-- whole org (orgs.fallbacks) or for one API key (api_keys.fallbacks, which wins for the models it names). Checked on
-- save: providers of the org, in the region, serving the model, all of one kind. At call time an entry that no
-- longer qualifies (deleted, moved to another region) is skipped: a request never leaves its region.
ALTER TABLE orgs ADD COLUMN fallbacks jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fallbacks) = 'object');
ALTER TABLE api_keys ADD COLUMN fallbacks jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fallbacks) = 'object');
