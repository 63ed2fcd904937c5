-- The checks of a verification event (the admission webhook stores its whole check tree, about
-- 2.5 kB of JSON per image) are compressed with lz4 instead of the default pglz: pglz was the
-- largest single cost of storing webhook verdicts (docs/benchmarks.md). New monthly partitions
-- take the parent's setting; existing ones are set here. Rows already stored keep their pglz
-- compression and stay readable. A server built without lz4 keeps pglz.
DO $$
DECLARE
    part regclass;
BEGIN
    ALTER TABLE verification_events ALTER COLUMN checks SET COMPRESSION lz4;
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                 WHERE inhparent = 'verification_events'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN checks SET COMPRESSION lz4', part);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4; verification event checks stay compressed with pglz';
END;
$$;
