//! Which team owns which namespaces. Teams are how developers look for their own rejections
//! ("everything refused for team payments"); Kubernetes divides clusters by namespace, so a team
//! is the set of namespace names it owns, the same in every cluster.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::{audit, Actor, ServiceError};

/// Every team with its namespaces, by team name.
pub async fn list(pool: &PgPool) -> Result<BTreeMap<String, Vec<String>>, ServiceError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT team, namespace FROM team_namespaces ORDER BY team, namespace")
            .fetch_all(pool)
            .await?;
    let mut teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (team, namespace) in rows {
        teams.entry(team).or_default().push(namespace);
    }
    Ok(teams)
}

/// Makes `namespaces` exactly the namespaces of `team`: names it held before and are not listed
/// are released, listed names another team held move to this one (the audit entry says from
/// whom). An empty list removes the team.
pub async fn set_namespaces(
    pool: &PgPool,
    actor: &Actor,
    team: &str,
    namespaces: &[String],
) -> Result<(), ServiceError> {
    let team = team.trim();
    if team.is_empty() || team.len() > 100 {
        return Err(ServiceError::Invalid(
            "a team name is 1 to 100 characters".into(),
        ));
    }
    let mut wanted: Vec<String> = namespaces.iter().map(|n| n.trim().to_owned()).collect();
    wanted.sort();
    wanted.dedup();
    if let Some(bad) = wanted.iter().find(|n| n.is_empty() || n.len() > 253) {
        return Err(ServiceError::Invalid(format!(
            "namespace {bad:?} is not a namespace name (1 to 253 characters)"
        )));
    }
    let mut tx = pool.begin().await?;
    let taken: Vec<(String, String)> = sqlx::query_as(
        "SELECT namespace, team FROM team_namespaces WHERE namespace = ANY($1) AND team <> $2",
    )
    .bind(&wanted)
    .bind(team)
    .fetch_all(&mut *tx)
    .await?;
    let before: Vec<String> = sqlx::query_scalar(
        "DELETE FROM team_namespaces WHERE team = $1 OR namespace = ANY($2) RETURNING namespace",
    )
    .bind(team)
    .bind(&wanted)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO team_namespaces (namespace, team) SELECT unnest($1::text[]), $2")
        .bind(&wanted)
        .bind(team)
        .execute(&mut *tx)
        .await?;
    let released: Vec<&String> = before
        .iter()
        .filter(|n| !wanted.contains(n) && !taken.iter().any(|(t, _)| t == *n))
        .collect();
    audit::append(
        &mut tx,
        actor,
        "team.namespaces_set",
        team,
        serde_json::json!({
            "namespaces": wanted,
            "released": released,
            "moved_from": taken.iter().map(|(n, t)| serde_json::json!({"namespace": n, "team": t})).collect::<Vec<_>>(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
