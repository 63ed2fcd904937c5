//! Machine tokens: created once, shown once, stored only as a hash.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::TokenScope;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{audit, clusters, Actor, ServiceError};

/// Every token starts with this, so a leaked one is recognisable by secret scanners.
pub const PREFIX: &str = "tw_";

/// A token as lists show it: name, scopes, binding, use. Never the value or its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub token_prefix: String,
    pub scopes: Vec<TokenScope>,
    pub cluster: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub may_register_clusters: bool,
}

/// The token's value, returned once at creation. No `Debug`, `Display` or `Serialize`: it must be
/// handed over deliberately.
pub struct TokenSecret(String);

impl TokenSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Who a presented token belongs to, for the machine APIs.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPrincipal {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub cluster_id: Option<Uuid>,
    pub cluster: Option<String>,
    /// May report for clusters Trustwatch has not seen yet, registering them.
    pub may_register_clusters: bool,
}

impl TokenPrincipal {
    pub fn allows(&self, scope: TokenScope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    token_prefix: String,
    scopes: Vec<String>,
    cluster: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    may_register_clusters: bool,
}

fn parse_scopes(raw: &[String]) -> Result<Vec<TokenScope>, ServiceError> {
    raw.iter()
        .map(|s| TokenScope::parse(s).map_err(|e| ServiceError::Internal(e.0)))
        .collect()
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    name: &str,
    scopes: &[TokenScope],
    cluster: Option<&str>,
    may_register_clusters: bool,
) -> Result<(ApiToken, TokenSecret), ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::Invalid(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    if scopes.is_empty() {
        return Err(ServiceError::Invalid(
            "a token needs at least one scope".into(),
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let token_prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();

    let mut tx = pool.begin().await?;
    let cluster_id = match cluster.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(clusters::register(&mut tx, actor, c, None).await?),
        None => None,
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO api_tokens (id, name, token_hash, token_prefix, scopes, cluster_id, created_by,
                                 may_register_clusters)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(name)
    .bind(hash(&secret))
    .bind(&token_prefix)
    .bind(&scope_names)
    .bind(cluster_id)
    .bind(&actor.label)
    .bind(may_register_clusters)
    .execute(&mut *tx)
    .await
    .map_err(|e| ServiceError::unique_violation(e, format!("a token named {name:?} already exists")))?;
    audit::append(
        &mut tx,
        actor,
        "token.created",
        &format!("token:{name}"),
        json!({
            "scopes": scope_names,
            "cluster": cluster,
            "prefix": token_prefix,
            "may_register_clusters": may_register_clusters,
        }),
    )
    .await?;
    tx.commit().await?;
    let token = find(pool, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("token vanished after creation".into()))?;
    Ok((token, TokenSecret(secret)))
}

const SELECT: &str =
    "SELECT t.id, t.name, t.token_prefix, t.scopes, c.name AS cluster, t.created_by,
                             t.created_at, t.last_used_at, t.revoked_at, t.may_register_clusters
                        FROM api_tokens t LEFT JOIN clusters c ON c.id = t.cluster_id";

async fn find(pool: &PgPool, id: Uuid) -> Result<Option<ApiToken>, ServiceError> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(into_token).transpose()
}

fn into_token(r: Row) -> Result<ApiToken, ServiceError> {
    Ok(ApiToken {
        id: r.id,
        name: r.name,
        token_prefix: r.token_prefix,
        scopes: parse_scopes(&r.scopes)?,
        cluster: r.cluster,
        created_by: r.created_by,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
        may_register_clusters: r.may_register_clusters,
    })
}

pub async fn list(pool: &PgPool) -> Result<Vec<ApiToken>, ServiceError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} ORDER BY t.revoked_at IS NOT NULL, t.name"
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(into_token).collect()
}

pub async fn revoke(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING name",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let name = name.ok_or_else(|| ServiceError::NotFound("active token".into()))?;
    audit::append(
        &mut tx,
        actor,
        "token.revoked",
        &format!("token:{name}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Resolves a presented bearer token to its principal, or `None` when it is unknown or revoked.
/// Records the last use at most once a minute, so a busy cluster does not turn every request
/// into a write.
pub async fn authenticate(
    pool: &PgPool,
    presented: &str,
) -> Result<Option<TokenPrincipal>, ServiceError> {
    if !presented.starts_with(PREFIX) || presented.len() > 200 {
        return Ok(None);
    }
    #[derive(sqlx::FromRow)]
    struct Found {
        id: Uuid,
        name: String,
        scopes: Vec<String>,
        cluster_id: Option<Uuid>,
        cluster: Option<String>,
        may_register_clusters: bool,
    }
    let found: Option<Found> = sqlx::query_as(
        "SELECT t.id, t.name, t.scopes, t.cluster_id, c.name AS cluster, t.may_register_clusters
           FROM api_tokens t LEFT JOIN clusters c ON c.id = t.cluster_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(hash(presented))
    .fetch_optional(pool)
    .await?;
    let Some(f) = found else { return Ok(None) };
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind(f.id)
    .execute(pool)
    .await?;
    Ok(Some(TokenPrincipal {
        id: f.id,
        name: f.name,
        scopes: parse_scopes(&f.scopes)?,
        cluster_id: f.cluster_id,
        cluster: f.cluster,
        may_register_clusters: f.may_register_clusters,
    }))
}
