-- 0029 Widget vectors (issue 25 §1): chunks embedded through the org's provider, retrieved by full text and by
-- vector similarity, fused.
--
-- Vectors are stored as real[] (L2-normalised by the server), so the schema is the same on every engine. Where
-- pgvector is available (bundled with PGlite, the embedded default; a package on PostgreSQL: docs/WIDGET.md),
-- this creates the extension and HNSW indexes over casts of that column, one partial index per common embedding
-- size (HNSW needs a fixed size). Without pgvector, retrieval scores the widget's chunks exactly with the SQL
-- function below: correct, slower on large knowledge bases.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
      RAISE NOTICE 'pgvector is installed but this role cannot create it: widget retrieval scores vectors exactly';
    END;
  END IF;
END $$;

-- The widget's embedding model (NULL: full-text retrieval only), the size to ask for (NULL: the model's own), and
-- the similarity under which a retrieved chunk does not count as an answer (the "could not answer" list).
ALTER TABLE widgets ADD COLUMN embedding_model text
  CHECK (embedding_model IS NULL OR length(embedding_model) BETWEEN 1 AND 200);
ALTER TABLE widgets ADD COLUMN embedding_dimensions integer
  CHECK (embedding_dimensions IS NULL OR embedding_dimensions BETWEEN 16 AND 2000);
ALTER TABLE widgets ADD COLUMN min_similarity real NOT NULL DEFAULT 0.3
  CHECK (min_similarity >= 0 AND min_similarity <= 1);
-- The last embedding failure (provider down, wrong size): shown with the progress, cleared by the next success.
ALTER TABLE widgets ADD COLUMN embedding_error text CHECK (length(embedding_error) <= 500);
ALTER TABLE widgets ADD COLUMN embedding_error_at timestamptz;

-- A chunk's vector and the embedding key that made it (`model`, or `model:size` when a size is asked for). A
-- chunk whose key is not the widget's is due (new, or the widget's model or size changed); embed_after leases a
-- batch to one node and spaces out retries after a failure.
ALTER TABLE widget_chunks ADD COLUMN embedding real[];
ALTER TABLE widget_chunks ADD COLUMN embedding_model text;
ALTER TABLE widget_chunks ADD COLUMN embed_after timestamptz;
ALTER TABLE widget_chunks ADD COLUMN embed_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE widget_chunks ADD CONSTRAINT widget_chunks_embedding_shape
  CHECK (embedding IS NULL OR (array_ndims(embedding) = 1 AND array_length(embedding, 1) BETWEEN 16 AND 2000));
CREATE INDEX widget_chunks_embed_due ON widget_chunks (widget_id, embedding_model);
GRANT UPDATE (embedding, embedding_model, embed_after, embed_attempts) ON widget_chunks TO rampart_app;

-- Exact cosine similarity of two L2-normalised vectors (their dot product), for engines without pgvector.
CREATE OR REPLACE FUNCTION rampart_dot(a real[], b real[]) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT sum(x::double precision * y) FROM unnest(a, b) AS t(x, y)
$$;

DO $$
DECLARE
  d integer;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    FOREACH d IN ARRAY ARRAY[256, 384, 512, 768, 1024, 1536] LOOP
      EXECUTE format(
        'CREATE INDEX %I ON widget_chunks USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE array_length(embedding, 1) = %s',
        'widget_chunks_hnsw_' || d, d, d);
    END LOOP;
  END IF;
END $$;

-- Widgets with chunks due for embedding, across orgs (the embedder's discovery; each widget is then worked in
-- its own org context). Oldest change first, at most p_limit widgets.
CREATE OR REPLACE FUNCTION rampart_widget_embedding_due(p_now timestamptz, p_limit integer)
  RETURNS TABLE (org_id uuid, widget_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT w.org_id, w.id FROM widgets w
   WHERE w.embedding_model IS NOT NULL
     AND EXISTS (SELECT 1 FROM widget_chunks c
                  WHERE c.widget_id = w.id
                    AND c.embedding_model IS DISTINCT FROM w.embedding_model || coalesce(':' || w.embedding_dimensions, '')
                    AND (c.embed_after IS NULL OR c.embed_after <= p_now))
   ORDER BY w.updated_at, w.id LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION rampart_widget_embedding_due(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_widget_embedding_due(timestamptz, integer) TO rampart_app;

DO $$
BEGIN
  EXECUTE format('CREATE POLICY widget_chunks_definer_read ON widget_chunks FOR SELECT TO %I USING (true)', current_user);
END $$;
