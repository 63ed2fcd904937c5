//! The images Trustwatch has heard of (`known_images`): maintained by ingestion, searched by the
//! Images page. Why a table rather than an index on the events is in its migration
//! (`20261125000018_key_image_pages.sql`); in short, it stays as small as the fleet's set of
//! images however many events arrive, so searching a part of a name stays fast.

use chrono::{DateTime, Utc};
use domain::Digest;
use sqlx::PgPool;

use crate::ServiceError;

/// The upsert both ingestion statements end with. It reads a CTE `seen(image, repository, digest,
/// at)` of the rows just stored and touches a known image only when it is new or its `last_seen`
/// is more than ten minutes behind: in steady state one index probe per distinct image per batch
/// and no row lock, so concurrent batches of the same images do not queue on each other. Rows are
/// written in a fixed order so concurrent batches cannot deadlock.
macro_rules! upsert_known_images {
    () => {
        "INSERT INTO known_images AS k (image, repository, digest, first_seen, last_seen)
         SELECT s.image, s.repository, s.digest, s.first_seen, s.last_seen
           FROM (SELECT image, min(repository) AS repository, digest,
                        min(at) AS first_seen, max(at) AS last_seen
                   FROM seen GROUP BY image, digest) AS s
          WHERE NOT EXISTS (SELECT 1 FROM known_images f
                             WHERE f.image = s.image
                               AND coalesce(f.digest, '') = coalesce(s.digest, '')
                               AND f.first_seen <= s.first_seen
                               AND f.last_seen >= s.last_seen - interval '10 minutes')
          ORDER BY s.image, s.digest
         ON CONFLICT (image, (coalesce(digest, ''))) DO UPDATE
            SET first_seen = least(k.first_seen, EXCLUDED.first_seen),
                last_seen = greatest(k.last_seen, EXCLUDED.last_seen)
         RETURNING 1"
    };
}
pub(crate) use upsert_known_images;

/// The most results a search returns; a person narrows the words rather than pages through more.
pub const SEARCH_LIMIT: i64 = 100;

/// One digest of a repository that matched a search, with the references it was seen under.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImageMatch {
    pub repository: String,
    /// `None` for references reported without a digest (a tag a cluster could not resolve).
    pub digest: Option<String>,
    /// The references as reported (tags, or the pinned form), sorted.
    pub references: Vec<String>,
    pub first_seen: DateTime<Utc>,
    /// Exact to ten minutes (see the module's migration).
    pub last_seen: DateTime<Utc>,
    /// Signing events recorded for the digest.
    pub signatures: i64,
}

/// What a search looks for: a digest (exactly, or by its first hex digits), or a part of an image
/// reference, compared without regard to case; nothing at all lists the most recently seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageQuery {
    Recent,
    Digest(Digest),
    /// `sha256:` and at least 7 hex digits, as people copy them from logs.
    DigestPrefix(String),
    Text(String),
}

impl ImageQuery {
    pub fn parse(q: &str) -> Self {
        let q = q.trim();
        if q.is_empty() {
            return ImageQuery::Recent;
        }
        let hex = q.strip_prefix("sha256:").unwrap_or(q);
        let is_hex = hex.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex && hex.len() == 64 {
            if let Ok(d) = Digest::parse(&format!("sha256:{}", hex.to_ascii_lowercase())) {
                return ImageQuery::Digest(d);
            }
        }
        if is_hex && hex.len() >= 7 && (q.starts_with("sha256:") || hex.len() >= 12) {
            return ImageQuery::DigestPrefix(format!("sha256:{}", hex.to_ascii_lowercase()));
        }
        ImageQuery::Text(q.to_lowercase())
    }
}

/// The digests whose references match `query`, most recently seen first, at most
/// [`SEARCH_LIMIT`], each with one probe of the signing events' digest index. The candidate rows
/// of `known_images` come from an index where one fits: the digest index; the newest rows by
/// `last_seen` for the recent list; for text, the repositories whose names contain the text
/// (`image_repositories`, thousands of names) and their rows by repository. Text that names no
/// repository (a tag alone, say) falls back to reading every known image.
pub async fn search(pool: &PgPool, query: &ImageQuery) -> Result<Vec<ImageMatch>, ServiceError> {
    let mut repositories: Option<Vec<String>> = None;
    if let ImageQuery::Text(t) = query {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT repository FROM image_repositories WHERE strpos(lower(repository), $1) > 0
              LIMIT $2",
        )
        .bind(domain::image::repository_part(t))
        .bind(MAX_REPOSITORIES + 1)
        .fetch_all(pool)
        .await?;
        if !names.is_empty() && names.len() as i64 <= MAX_REPOSITORIES {
            repositories = Some(names);
        }
    }
    let (candidates, needle) = match (query, &repositories) {
        (ImageQuery::Recent, _) => (
            "(SELECT * FROM known_images ORDER BY last_seen DESC LIMIT 1000)",
            String::new(),
        ),
        (ImageQuery::Digest(d), _) => (
            "(SELECT * FROM known_images WHERE digest = $1)",
            d.as_str().to_owned(),
        ),
        (ImageQuery::DigestPrefix(p), _) => (
            "(SELECT * FROM known_images WHERE starts_with(digest, $1))",
            p.clone(),
        ),
        (ImageQuery::Text(t), Some(_)) => (
            "(SELECT * FROM known_images
               WHERE repository = ANY($2) AND strpos(lower(image), $1) > 0)",
            t.clone(),
        ),
        (ImageQuery::Text(t), None) => (
            "(SELECT * FROM known_images WHERE strpos(lower(image), $1) > 0)",
            t.clone(),
        ),
    };
    Ok(sqlx::query_as(&format!(
        "SELECT m.repository, m.digest, m.references, m.first_seen, m.last_seen,
                CASE WHEN m.digest IS NULL THEN 0
                     ELSE (SELECT count(*) FROM signing_events s WHERE s.digest = m.digest) END
                    AS signatures
           FROM (SELECT repository, digest, array_agg(DISTINCT image ORDER BY image) AS references,
                        min(first_seen) AS first_seen, max(last_seen) AS last_seen
                   FROM {candidates} AS c
                  GROUP BY repository, digest
                  ORDER BY max(last_seen) DESC, repository, digest
                  LIMIT $3) AS m
          ORDER BY m.last_seen DESC, m.repository, m.digest"
    ))
    // Every plan gets the same parameters; those a plan does not use are typed, so harmless.
    .bind(needle)
    .bind(repositories.unwrap_or_default())
    .bind(SEARCH_LIMIT)
    .fetch_all(pool)
    .await?)
}

/// Repository names searched at once; a broader text reads every known image instead.
const MAX_REPOSITORIES: i64 = 1000;

/// The references a digest was seen under, sorted.
pub async fn references(pool: &PgPool, digest: &Digest) -> Result<Vec<String>, ServiceError> {
    Ok(sqlx::query_scalar(
        "SELECT image FROM known_images WHERE digest = $1 ORDER BY last_seen DESC, image LIMIT 50",
    )
    .bind(digest.as_str())
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_query_is_a_digest_a_digest_prefix_or_words() {
        assert!(matches!(
            ImageQuery::parse(&format!("sha256:{HEX}")),
            ImageQuery::Digest(d) if d.as_str() == format!("sha256:{HEX}")
        ));
        assert!(matches!(ImageQuery::parse(HEX), ImageQuery::Digest(_)));
        assert_eq!(
            ImageQuery::parse("sha256:0123ABC"),
            ImageQuery::DigestPrefix("sha256:0123abc".into())
        );
        assert_eq!(
            ImageQuery::parse("0123456789ab"),
            ImageQuery::DigestPrefix("sha256:0123456789ab".into())
        );
        // Short hex is as likely a word ("cafe", "dead", "beef") as a digest.
        assert_eq!(ImageQuery::parse("cafe"), ImageQuery::Text("cafe".into()));
        assert_eq!(
            ImageQuery::parse("  Team/App:1.2 "),
            ImageQuery::Text("team/app:1.2".into())
        );
        assert_eq!(ImageQuery::parse("   "), ImageQuery::Recent);
    }
}
