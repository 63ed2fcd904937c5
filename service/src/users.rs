//! People's accounts: creating them, changing roles, disabling them. Only admins call these from
//! the UI; the CLI calls them as `Actor::cli()`.

use chrono::{DateTime, Utc};
use domain::{Email, NewPassword, Role};
use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{audit, password, Actor, ServiceError};

/// An account as the UI may see it. It deliberately holds no password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    role: String,
    disabled: bool,
    must_change_password: bool,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = ServiceError;
    fn try_from(r: UserRow) -> Result<Self, ServiceError> {
        Ok(User {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).map_err(|e| ServiceError::Internal(e.0))?,
            disabled: r.disabled,
            must_change_password: r.must_change_password,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        })
    }
}

const COLUMNS: &str = "id, email, role, disabled, must_change_password, created_at, last_login_at";

pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    email: &str,
    role: Role,
    new_password: &str,
    must_change_password: bool,
) -> Result<User, ServiceError> {
    let email = Email::parse(email)?;
    let pw = NewPassword::parse(new_password)?;
    let hash = password::hash(SecretString::from(pw.expose().to_owned())).await?;
    let mut tx = pool.begin().await?;
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (id, email, password_hash, role, must_change_password)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(email.as_str())
    .bind(&hash)
    .bind(role.as_str())
    .bind(must_change_password)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        ServiceError::unique_violation(e, format!("an account for {email} already exists"))
    })?;
    audit::append(
        &mut tx,
        actor,
        "user.created",
        &format!("user:{email}"),
        json!({ "role": role.as_str(), "must_change_password": must_change_password }),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<User>, ServiceError> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(User::try_from).transpose()
}

pub async fn list(pool: &PgPool) -> Result<Vec<User>, ServiceError> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY email"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn count(pool: &PgPool) -> Result<i64, ServiceError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pool)
        .await?)
}

pub async fn set_role(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    role: Role,
) -> Result<User, ServiceError> {
    let mut tx = pool.begin().await?;
    let before: Option<(String, String)> =
        sqlx::query_as("SELECT email, role FROM users WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (email, old_role) = before.ok_or_else(|| ServiceError::NotFound("user".into()))?;
    if old_role == "admin" && role != Role::Admin {
        ensure_another_admin(&mut tx, id).await?;
    }
    let row: UserRow = sqlx::query_as(&format!(
        "UPDATE users SET role = $2 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "user.role_changed",
        &format!("user:{email}"),
        json!({ "from": old_role, "to": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn set_disabled(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    disabled: bool,
) -> Result<User, ServiceError> {
    let mut tx = pool.begin().await?;
    let before: Option<(String, String)> =
        sqlx::query_as("SELECT email, role FROM users WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (email, role) = before.ok_or_else(|| ServiceError::NotFound("user".into()))?;
    if disabled && role == "admin" {
        ensure_another_admin(&mut tx, id).await?;
    }
    let row: UserRow = sqlx::query_as(&format!(
        "UPDATE users SET disabled = $2 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(disabled)
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        },
        &format!("user:{email}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}

/// Changes a user's own password after checking the current one.
pub async fn change_password(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    current: SecretString,
    new_password: &str,
) -> Result<(), ServiceError> {
    let new_password = NewPassword::parse(new_password)?;
    let stored: Option<(String, String)> =
        sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let (email, hash) = stored.ok_or_else(|| ServiceError::NotFound("user".into()))?;
    if !password::verify(current, Some(hash)).await? {
        return Err(ServiceError::Invalid(
            "the current password is not correct".into(),
        ));
    }
    let new_hash = password::hash(SecretString::from(new_password.expose().to_owned())).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1")
        .bind(id)
        .bind(new_hash)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "user.password_changed",
        &format!("user:{email}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses to leave the system without an enabled admin: nobody could manage it any more.
async fn ensure_another_admin(
    tx: &mut sqlx::PgConnection,
    except: Uuid,
) -> Result<(), ServiceError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1",
    )
    .bind(except)
    .fetch_one(&mut *tx)
    .await?;
    if others == 0 {
        return Err(ServiceError::Conflict(
            "this is the last enabled admin; make someone else admin first".into(),
        ));
    }
    Ok(())
}

/// Creates the first admin when there is no account at all; returns the generated password when
/// none was given. Does nothing when accounts exist, so it is safe to run at every start.
pub async fn ensure_first_admin(
    pool: &PgPool,
    email: &str,
    given_password: Option<&str>,
) -> Result<Option<(User, Option<String>)>, ServiceError> {
    if count(pool).await? > 0 {
        return Ok(None);
    }
    let (pw, generated) = match given_password {
        Some(p) => (p.to_owned(), false),
        None => (password::generate(), true),
    };
    let user = create(pool, &Actor::cli(), email, Role::Admin, &pw, generated).await?;
    Ok(Some((user, generated.then_some(pw))))
}
