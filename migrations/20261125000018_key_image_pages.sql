-- The images Trustwatch has heard of, for the Images search: one row per reference as reported
-- (registry/repository with its tag and/or digest) and digest, maintained by ingestion in the
-- same statement as the events (signing and verification).
--
-- Why a table and not an index on the events: a search by a part of a name ("team/app",
-- "app:1.2") cannot use a btree on verification_events, and a trigram index would need the
-- pg_trgm extension and add a GIN insertion to every admission stored (the hot path measured in
-- docs/benchmarks.md). Fleets admit the same few hundred or thousand images again and again, so
-- this table stays small however many events there are, and a substring search is a sequential
-- scan of it: measured with EXPLAIN ANALYZE on PostgreSQL 15 on the development machine, 3 ms
-- over 5,000 known images and 70–85 ms over 200,000 (parallel sequential scan); the number of
-- events does not enter into it.
--
-- What it costs ingestion: a known image is touched only when it is new or its `last_seen` is
-- more than ten minutes old (an anti-join probe of the unique index first), so in steady state a
-- batch takes no row locks here and costs one index probe per distinct image. Measured on the
-- upsert alone: a batch of 1,000 events over 200 images already known, 0.8 ms (against roughly
-- 20 ms of PostgreSQL CPU per such batch in docs/benchmarks.md); a batch of 1,000 images never
-- seen before, 15 ms, which is the price of the catalogue when every event is a new image (the
-- `--images 2000000` benchmark). `last_seen` is therefore exact to ten minutes; the image page
-- reads exact times from the events.
CREATE TABLE known_images (
    -- The reference as reported, e.g. registry.example.com/team/app:1.2 or …@sha256:….
    image       text NOT NULL,
    -- registry/repository, without tag or digest.
    repository  text NOT NULL,
    -- NULL when a cluster reported a tag it could not resolve.
    digest      text CHECK (digest IS NULL OR (length(digest) = 71 AND starts_with(digest, 'sha256:'))),
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);
-- The conflict target of ingestion's upsert and its freshness probe.
CREATE UNIQUE INDEX known_images_image_digest ON known_images (image, (coalesce(digest, '')));
-- The image page names the references of one digest.
CREATE INDEX known_images_digest ON known_images (digest);

INSERT INTO known_images (image, repository, digest, first_seen, last_seen)
SELECT image, min(repository), digest, min(seen), max(seen)
  FROM (SELECT image, repository, digest, observed_at AS seen FROM verification_events
        UNION ALL
        SELECT image, repository, digest, recorded_at FROM signing_events) AS seen
 GROUP BY image, digest;
