//! The clusters that report to Trustwatch.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{audit, Actor, ServiceError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Cluster {
    pub id: Uuid,
    pub name: String,
    pub environment: String,
    pub engine: Option<String>,
    pub enforcement_mode: Option<String>,
    pub bundle_version: Option<i64>,
    pub registered_at: DateTime<Utc>,
    pub last_report_at: Option<DateTime<Utc>>,
}

/// Cluster names follow Kubernetes' DNS-label rules, so they can be used in URLs and labels.
pub fn validate_name(name: &str) -> Result<(), ServiceError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "{name:?} is not a valid cluster name (lower-case letters, digits, '-' and '.', at most 63)"
        )))
    }
}

/// Returns the cluster's id, registering it (audited) when it is new.
pub async fn register(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    environment: Option<&str>,
) -> Result<Uuid, ServiceError> {
    validate_name(name)?;
    if let Some(id) = sqlx::query_scalar("SELECT id FROM clusters WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    let environment = environment.unwrap_or_else(|| guess_environment(name));
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO clusters (id, name, environment) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(environment)
    .fetch_one(&mut *conn)
    .await?;
    audit::append(
        conn,
        actor,
        "cluster.registered",
        &format!("cluster:{name}"),
        json!({ "environment": environment }),
    )
    .await?;
    Ok(id)
}

/// Clusters are usually named after their environment (`prod-eu-1`, `staging-2`); until someone
/// says otherwise, that is the best guess.
fn guess_environment(name: &str) -> &'static str {
    let first = name.split(['-', '.']).next().unwrap_or_default();
    match first {
        "prod" | "production" | "prd" => "production",
        "staging" | "stage" | "stg" => "staging",
        "dev" | "development" => "development",
        "test" | "qa" => "test",
        _ => "unknown",
    }
}

/// What a cluster says about itself when it checks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub cluster: String,
    pub engine: Option<String>,
    pub enforcement_mode: Option<String>,
    pub bundle_version: Option<i64>,
}

/// Records a heartbeat: the cluster is alive, runs this engine in this mode, on this bundle.
pub async fn heartbeat(
    pool: &PgPool,
    actor: &Actor,
    beat: &Heartbeat,
    register_unknown: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if let Some(mode) = &beat.enforcement_mode {
        if !matches!(mode.as_str(), "enforce" | "warn" | "audit") {
            return Err(ServiceError::Invalid(format!(
                "enforcement_mode {mode:?} is not one of enforce, warn, audit"
            )));
        }
    }
    let mut tx = pool.begin().await?;
    let known: Option<Uuid> = sqlx::query_scalar("SELECT id FROM clusters WHERE name = $1")
        .bind(&beat.cluster)
        .fetch_optional(&mut *tx)
        .await?;
    let id = match known {
        Some(id) => id,
        None if register_unknown => register(&mut tx, actor, &beat.cluster, None).await?,
        None => {
            return Err(ServiceError::Forbidden(format!(
                "cluster {:?} is not registered and this token may not register clusters",
                beat.cluster
            )))
        }
    };
    sqlx::query(
        "UPDATE clusters
            SET engine = coalesce($2, engine),
                enforcement_mode = coalesce($3, enforcement_mode),
                bundle_version = coalesce($4, bundle_version),
                bundle_acknowledged_at = CASE
                    WHEN $4 IS NOT NULL AND bundle_version IS DISTINCT FROM $4 THEN $5
                    ELSE bundle_acknowledged_at END,
                last_report_at = greatest(last_report_at, $5)
          WHERE id = $1",
    )
    .bind(id)
    .bind(&beat.engine)
    .bind(&beat.enforcement_mode)
    .bind(beat.bundle_version)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(pool: &PgPool) -> Result<Vec<Cluster>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT id, name, environment, engine, enforcement_mode, bundle_version, registered_at, last_report_at
           FROM clusters ORDER BY environment, name",
    )
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dns_label_rules() {
        assert!(validate_name("prod-eu-1").is_ok());
        assert!(validate_name("Prod").is_err());
        assert!(validate_name("-a").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn environment_is_guessed_from_the_name() {
        assert_eq!(guess_environment("prod-eu-1"), "production");
        assert_eq!(guess_environment("staging-2"), "staging");
        assert_eq!(guess_environment("edge"), "unknown");
    }
}
