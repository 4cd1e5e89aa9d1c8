-- The HNSW indexes hold half-precision copies of the vectors (halfvec) instead of full ones: half the size, a faster
-- build and walk for the same recall (search ranks the candidates by their full-precision distance), and models of up
-- to 4,000 dimensions. Each existing index is rebuilt here in the new form, under its name, with its build parameters
-- and model, so that search is never without one; this takes as long as a build of each model's index (about a
-- minute per 100k vectors of 1,536 dims on 2 cores), during which searches and writes wait (DROP INDEX locks the table).
DO $$
DECLARE
    idx record;
BEGIN
    -- A build spills to disk, and takes several times longer, when the graph does not fit (see ensure_vector_index).
    PERFORM set_config('maintenance_work_mem', '1GB', true)
    WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('1GB');
    FOR idx IN
        SELECT schemaname, indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename = 'search_vectors'
          AND indexdef LIKE '% vector_cosine_ops%' AND indexdef LIKE '%::vector(%'
    LOOP
        EXECUTE format('DROP INDEX %I.%I', idx.schemaname, idx.indexname);
        EXECUTE replace(replace(idx.indexdef, '::vector(', '::halfvec('), ' vector_cosine_ops', ' halfvec_cosine_ops');
    END LOOP;
END $$;
