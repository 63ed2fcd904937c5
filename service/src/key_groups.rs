//! Key groups: named sets of keys that a policy trusts as one authority.
//!
//! Groups are policy-as-code documents (`kind: KeyGroup`) and change through
//! `policies::apply` like policies do — validated, diffed, audited, and publishing a new
//! trust-bundle version. This module stores them and lists them.

use chrono::{DateTime, Utc};
use domain::policy::{KeyGroupDocument, KeyGroupSpec, Metadata, API_VERSION};
use domain::{KeyGroup, PolicyItem};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::policies::{self, ApplyError, ApplyOptions, ApplyOutcome};
use crate::trust_bundle::Publisher;
use crate::{Actor, ServiceError};

/// A group as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct KeyGroupView {
    pub name: String,
    pub keys: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool) -> Result<Vec<KeyGroupView>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT g.name,
                COALESCE(array_agg(k.name ORDER BY m.position, k.name)
                         FILTER (WHERE k.name IS NOT NULL), '{}') AS keys,
                g.created_by, g.created_at, g.updated_by, g.updated_at
           FROM key_groups g
           LEFT JOIN key_group_members m ON m.group_id = g.id
           LEFT JOIN keys k ON k.id = m.key_id
          GROUP BY g.id ORDER BY g.name",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn get(pool: &PgPool, name: &str) -> Result<Option<KeyGroupView>, ServiceError> {
    Ok(list(pool).await?.into_iter().find(|g| g.name == name))
}

/// Creates or replaces one group's members, as applying a one-document file would.
pub async fn put(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    name: &str,
    keys: Vec<String>,
    dry_run: bool,
) -> Result<ApplyOutcome, ApplyError> {
    let document = KeyGroupDocument {
        api_version: API_VERSION.to_owned(),
        kind: "KeyGroup".to_owned(),
        metadata: Metadata {
            name: name.to_owned(),
        },
        spec: KeyGroupSpec { keys },
    };
    let group = KeyGroup::from_document(&document).map_err(ApplyError::Invalid)?;
    policies::apply_items(
        pool,
        actor,
        publisher,
        vec![(0, PolicyItem::KeyGroup(group))],
        ApplyOptions {
            dry_run,
            prune: false,
        },
    )
    .await
}

/// Creates the group or replaces its members, inside the caller's transaction. Every member must
/// exist (the caller has checked, with field paths); the foreign key is the last guard.
pub(crate) async fn upsert(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &KeyGroup,
) -> Result<(), ServiceError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO key_groups (id, name, created_by, updated_by) VALUES ($1, $2, $3, $3)
         ON CONFLICT (name) DO UPDATE SET updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(group.name())
    .bind(&actor.label)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM key_group_members WHERE group_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO key_group_members (group_id, key_id, position)
         SELECT $1, k.id, m.position
           FROM unnest($2::text[]) WITH ORDINALITY AS m(name, position)
           JOIN keys k ON k.name = m.name",
    )
    .bind(id)
    .bind(group.keys())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted != group.keys().len() as u64 {
        return Err(ServiceError::Invalid(format!(
            "key group {} names a key that does not exist",
            group.name()
        )));
    }
    Ok(())
}

pub(crate) async fn delete(conn: &mut PgConnection, name: &str) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM key_groups WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
