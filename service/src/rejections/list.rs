//! The Rejections table: refused, warned and errored admissions, newest first, filtered the way a
//! developer looks for their own ("my image, in prod, this week"), one page at a time.
//!
//! Pages are keyset pages on `(observed_at, id)`, never `OFFSET`: page 1,000 costs what page 1
//! costs. The plan depends on the filter, and every branch walks a partial index of refusals
//! (admitted events, the great majority, are in none of them) newest first and stops after one
//! page:
//! - an image search finds the matching names in `image_repositories` (thousands of rows, not
//!   millions) and walks `verification_events_not_admitted_repository` once per name, merging
//!   the walks (`LATERAL … LIMIT`), so a rare image costs as little as a common one;
//! - a digest uses `verification_events_digest`;
//! - clusters (by name or environment) walk `verification_events_not_admitted_cluster` once per
//!   cluster, merged the same way;
//! - anything else walks `verification_events_not_admitted` and filters as it goes.
//!
//! Before any walk, the rollups say whether anything matches the cluster, reason, engine and
//! outcome at all: a filter that matches nothing would otherwise read every refusal in range.
//!
//! The time range is always bounded below, which also prunes the monthly partitions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::image::repository_part;
use domain::Digest;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::ServiceError;

/// At most this many repository names are searched for one image query; a broader query is
/// answered for the first ones (by name) and says so.
pub const MAX_REPOSITORIES: usize = 100;

/// What the table is narrowed to. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionFilter {
    pub cluster: Option<String>,
    pub environment: Option<String>,
    pub namespace: Option<String>,
    /// A substring of the image reference (`team/app`, `app:1.2`), or a digest (`sha256:…`,
    /// also `…@sha256:…`).
    pub image: Option<String>,
    pub team: Option<String>,
    pub reason: Option<String>,
    pub engine: Option<String>,
    /// `rejected`, `warned` or `error`.
    pub outcome: Option<String>,
    /// Observed at or after this time.
    pub since: DateTime<Utc>,
    /// Observed before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Where a page ends: the next page starts after this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub observed_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// `2026-11-25T10:00:00.123456Z_<uuid>`, safe in a URL.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.observed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.id
        )
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (at, id) = s.rsplit_once('_')?;
        Some(Cursor {
            observed_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: Uuid,
    cluster_id: Uuid,
    namespace: String,
    workload_kind: String,
    workload_name: String,
    image: String,
    digest: Option<String>,
    outcome: String,
    reason: String,
    engine: String,
    policy: Option<String>,
    observed_at: DateTime<Utc>,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionRow {
    pub id: Uuid,
    pub cluster: String,
    pub environment: String,
    pub namespace: String,
    pub workload_kind: String,
    pub workload_name: String,
    pub image: String,
    pub digest: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub engine: String,
    pub policy: Option<String>,
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct RejectionList {
    pub rows: Vec<RejectionRow>,
    /// Set when there are older rows.
    pub next: Option<Cursor>,
    /// The image query matched more repository names than are searched at once.
    pub image_query_too_broad: bool,
}

/// One page of at most `limit` rows after `after` (the first page when `None`).
pub async fn list(
    pool: &PgPool,
    filter: &RejectionFilter,
    after: Option<Cursor>,
    limit: usize,
) -> Result<RejectionList, ServiceError> {
    let limit = limit.clamp(1, 500);
    let clusters: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, name, environment FROM clusters")
            .fetch_all(pool)
            .await?;
    let wanted_clusters: Option<Vec<Uuid>> =
        (filter.cluster.is_some() || filter.environment.is_some()).then(|| {
            clusters
                .iter()
                .filter(|(_, name, env)| {
                    filter.cluster.as_ref().is_none_or(|c| c == name)
                        && filter.environment.as_ref().is_none_or(|e| e == env)
                })
                .map(|(id, _, _)| *id)
                .collect()
        });
    let namespaces = namespaces_of(pool, filter).await?;
    if wanted_clusters.as_ref().is_some_and(Vec::is_empty)
        || namespaces.as_ref().is_some_and(Vec::is_empty)
    {
        return Ok(RejectionList::default());
    }

    let query = filter
        .image
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let digest = query.and_then(digest_in);
    let mut too_broad = false;
    let repositories = match (query, &digest) {
        (Some(q), None) => {
            let names = matching_repositories(pool, q).await?;
            too_broad = names.len() > MAX_REPOSITORIES;
            let names: Vec<String> = names.into_iter().take(MAX_REPOSITORIES).collect();
            if names.is_empty() {
                return Ok(RejectionList::default());
            }
            Some(names)
        }
        _ => None,
    };

    if !any_in_rollup(pool, filter, wanted_clusters.as_deref()).await? {
        return Ok(RejectionList::default());
    }

    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("");
    let columns = "e.id, e.cluster_id, e.namespace, e.workload_kind, e.workload_name, e.image, \
                   e.digest, e.outcome, e.reason, e.engine, e.policy, e.observed_at";
    let mut clusters_walked = false;
    match (&repositories, &wanted_clusters) {
        (Some(names), _) => {
            sql.push("SELECT e.* FROM unnest(CAST(");
            sql.push_bind(names.clone());
            sql.push(format!(
                " AS text[])) AS r(repository) CROSS JOIN LATERAL (SELECT {columns} \
                 FROM verification_events e WHERE e.repository = r.repository AND "
            ));
        }
        // One walk of the per-cluster index for each cluster asked for, merged: filtering the
        // fleet-wide walk instead reads every other cluster's refusals too.
        (None, Some(ids)) if digest.is_none() => {
            clusters_walked = true;
            sql.push("SELECT e.* FROM unnest(CAST(");
            sql.push_bind(ids.clone());
            sql.push(format!(
                " AS uuid[])) AS c(id) CROSS JOIN LATERAL (SELECT {columns} \
                 FROM verification_events e WHERE e.cluster_id = c.id AND "
            ));
        }
        _ => {
            sql.push(format!(
                "SELECT e.* FROM (SELECT {columns} FROM verification_events e WHERE "
            ));
        }
    }
    sql.push("e.outcome <> 'admitted' AND e.observed_at >= ");
    sql.push_bind(filter.since);
    if let Some(until) = filter.until {
        sql.push(" AND e.observed_at < ").push_bind(until);
    }
    if let (Some(ids), false) = (&wanted_clusters, clusters_walked) {
        sql.push(" AND e.cluster_id = ANY(")
            .push_bind(ids.clone())
            .push(")");
    }
    if let Some(ns) = namespaces {
        sql.push(" AND e.namespace = ANY(").push_bind(ns).push(")");
    }
    if let Some(d) = &digest {
        sql.push(" AND e.digest = ")
            .push_bind(d.as_str().to_owned());
    } else if let Some(q) = query {
        // The repository matched already; this narrows to the tag when one was typed.
        sql.push(" AND e.image ILIKE ")
            .push_bind(format!("%{}%", like_escape(q)));
    }
    for (column, value) in [
        ("reason", &filter.reason),
        ("engine", &filter.engine),
        ("outcome", &filter.outcome),
    ] {
        if let Some(v) = value {
            sql.push(format!(" AND e.{column} = ")).push_bind(v.clone());
        }
    }
    if let Some(c) = after {
        sql.push(" AND (e.observed_at, e.id) < (")
            .push_bind(c.observed_at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    let page = (limit + 1) as i64;
    sql.push(" ORDER BY e.observed_at DESC, e.id DESC LIMIT ")
        .push_bind(page);
    sql.push(") e ORDER BY e.observed_at DESC, e.id DESC LIMIT ")
        .push_bind(page);

    let mut rows: Vec<Row> = sql.build_query_as().fetch_all(pool).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        let last = rows.last().expect("a full page has a last row");
        Cursor {
            observed_at: last.observed_at,
            id: last.id,
        }
    });
    let names: HashMap<Uuid, (&str, &str)> = clusters
        .iter()
        .map(|(id, name, env)| (*id, (name.as_str(), env.as_str())))
        .collect();
    Ok(RejectionList {
        rows: rows
            .into_iter()
            .map(|r| {
                let (cluster, environment) =
                    names.get(&r.cluster_id).copied().unwrap_or(("?", "?"));
                RejectionRow {
                    id: r.id,
                    cluster: cluster.to_owned(),
                    environment: environment.to_owned(),
                    namespace: r.namespace,
                    workload_kind: r.workload_kind,
                    workload_name: r.workload_name,
                    image: r.image,
                    digest: r.digest,
                    outcome: r.outcome,
                    reason: r.reason,
                    engine: r.engine,
                    policy: r.policy,
                    observed_at: r.observed_at,
                }
            })
            .collect(),
        next,
        image_query_too_broad: too_broad,
    })
}

/// Whether the rollups count any refusal matching the filter's cluster, reason, engine and
/// outcome in its time range. A filter that matches nothing would otherwise walk every refusal
/// of the range before finding so (seconds over 90 days of a large fleet); the rollups answer
/// from thousands of rows. Filters the rollups do not know (image, namespace) are left to the
/// walk.
async fn any_in_rollup(
    pool: &PgPool,
    filter: &RejectionFilter,
    clusters: Option<&[Uuid]>,
) -> Result<bool, ServiceError> {
    let until = filter
        .until
        .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(1));
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM verification_counts($1, $2)
              WHERE outcome <> 'admitted'
                AND ($3::uuid[] IS NULL OR cluster_id = ANY($3))
                AND ($4::text IS NULL OR reason = $4)
                AND ($5::text IS NULL OR engine = $5)
                AND ($6::text IS NULL OR outcome = $6))",
    )
    // The rollups count by hour (or day): the hour holding `since` is included whole, and the
    // function takes a day from the daily table only when the whole day is inside the range.
    .bind(filter.since - chrono::Duration::hours(1))
    .bind(until)
    .bind(clusters)
    .bind(&filter.reason)
    .bind(&filter.engine)
    .bind(&filter.outcome)
    .fetch_one(pool)
    .await?)
}

/// The namespaces the filter allows: the team's, the one named, or both intersected; `None` when
/// neither is given.
async fn namespaces_of(
    pool: &PgPool,
    filter: &RejectionFilter,
) -> Result<Option<Vec<String>>, ServiceError> {
    let team: Option<Vec<String>> = match &filter.team {
        Some(team) => Some(
            sqlx::query_scalar("SELECT namespace FROM team_namespaces WHERE team = $1")
                .bind(team)
                .fetch_all(pool)
                .await?,
        ),
        None => None,
    };
    Ok(match (team, &filter.namespace) {
        (None, None) => None,
        (None, Some(ns)) => Some(vec![ns.clone()]),
        (Some(team), None) => Some(team),
        (Some(team), Some(ns)) => Some(team.into_iter().filter(|t| t == ns).collect()),
    })
}

/// Repository names containing the repository part of `query` (a tag or digest typed after it is
/// matched against the image later), by name, one more than [`MAX_REPOSITORIES`] at most.
async fn matching_repositories(pool: &PgPool, query: &str) -> Result<Vec<String>, ServiceError> {
    let repository = repository_part(query);
    Ok(sqlx::query_scalar(
        "SELECT repository FROM image_repositories WHERE repository ILIKE $1
          ORDER BY repository LIMIT $2",
    )
    .bind(format!("%{}%", like_escape(repository)))
    .bind((MAX_REPOSITORIES + 1) as i64)
    .fetch_all(pool)
    .await?)
}

/// The digest in an image query (`sha256:…` alone or after `@`), when it holds one.
fn digest_in(query: &str) -> Option<Digest> {
    let candidate = query.rsplit('@').next().unwrap_or(query);
    Digest::parse(candidate).ok()
}

/// `value` with LIKE's wildcards taken literally.
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_found_alone_or_after_the_at_sign() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert!(digest_in(&d).is_some());
        assert!(digest_in(&format!("reg.io/app@{d}")).is_some());
        assert!(digest_in("reg.io/app:1.2").is_none());
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_escape("a_b%c\\"), "a\\_b\\%c\\\\");
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            observed_at: DateTime::parse_from_rfc3339("2026-11-25T10:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            id: Uuid::nil(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("garbage"), None);
    }
}
