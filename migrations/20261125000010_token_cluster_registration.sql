-- Whether a token may register clusters Trustwatch has not seen yet. Off by default: an unknown
-- cluster name from an ordinary token is more often a typo than a new cluster.
ALTER TABLE api_tokens ADD COLUMN may_register_clusters boolean NOT NULL DEFAULT false;
