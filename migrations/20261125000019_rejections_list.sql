-- The Rejections page: filters that stay fast at millions of refusals.
--
-- Every repository ever seen, so an image-name search reads thousands of names instead of
-- millions of events; ingestion adds new names in the same statement that stores the events.
CREATE TABLE image_repositories (
    repository  text PRIMARY KEY,
    first_seen  timestamptz NOT NULL
);
INSERT INTO image_repositories (repository, first_seen)
SELECT repository, min(t) FROM (
    SELECT repository, observed_at AS t FROM verification_events
    UNION ALL
    SELECT repository, recorded_at FROM signing_events
) s GROUP BY repository;

-- Refusals of one repository, or of one cluster, newest first: the page walks these per
-- matching repository (or cluster) with a keyset on (observed_at, id). Partial, like
-- verification_events_not_admitted, so admitted events (the great majority) pay nothing.
CREATE INDEX verification_events_not_admitted_repository
    ON verification_events (repository, observed_at DESC, id DESC) WHERE outcome <> 'admitted';
CREATE INDEX verification_events_not_admitted_cluster
    ON verification_events (cluster_id, observed_at DESC, id DESC) WHERE outcome <> 'admitted';

-- Which team owns which namespace, for the team filter. Namespaces are how Kubernetes teams
-- divide a cluster; one namespace name belongs to one team across the fleet.
CREATE TABLE team_namespaces (
    namespace  text PRIMARY KEY CHECK (length(namespace) BETWEEN 1 AND 253),
    team       text NOT NULL CHECK (length(team) BETWEEN 1 AND 100)
);
CREATE INDEX team_namespaces_team ON team_namespaces (team);

-- The fix the verifier proposed, one command or step per line; other engines send none.
ALTER TABLE verification_events ADD COLUMN remediation text;
