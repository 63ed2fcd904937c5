//! Incidents: one run of a playbook each, from declaration to the closed review.
//!
//! The playbook's state machine is `domain::playbook::run`; this module stores it. Every change
//! to an incident — declaring it, a step requested, approved, completed, skipped or overridden, a
//! checklist item ticked, a comment, closing — is one transaction that locks the incident's row,
//! rebuilds its [`Progress`] from the stored steps, asks the state machine for the move, performs
//! the step's action if it has one, stores the step and appends the audit entry. Two people acting
//! at once are therefore serialized: the second is judged against the first's result.
//!
//! An incident stores the whole playbook it started with (`playbook_document`), so editing a file
//! never changes a running incident. A drill runs the same steps, with the same clock and
//! approvals, but its actions are simulated (see [`actions`]).
//!
//! The live views of query steps are [`blast_radius`], [`propagation`] and [`recovery`]; the
//! closing write-up with its timeline and figures is [`review`].

pub mod actions;
pub mod blast_radius;
pub mod notify;
pub mod propagation;
pub mod recovery;
pub mod review;
mod steps;

use chrono::{DateTime, Utc};
use domain::playbook::{Catalog, Progress, StepState, StepStatus};
use domain::{Playbook, Role};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{audit, Actor, ServiceError};

pub use steps::{act, advance_automatic, advance_one, ActionInput, ContainMode, StepCommand};

/// The severities an incident may have, most urgent first.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// What the person declaring an incident gives.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// A playbook id from the catalog.
    pub playbook: String,
    pub title: String,
    pub severity: String,
    /// The incident commander's e-mail: an enabled security or admin user.
    pub commander: String,
    /// The key the incident is about (its name); required by playbooks that act on a key.
    pub key: Option<String>,
    /// T, the suspected compromise time; defaults to now for an incident about a key.
    pub compromised_since: Option<DateTime<Utc>>,
    /// A drill: same steps, simulated actions.
    pub drill: bool,
}

/// A participant in an incident: the name the incident tables record and the role they act in.
#[derive(Debug, Clone)]
pub struct Responder {
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentRow {
    pub id: Uuid,
    pub playbook: String,
    pub playbook_version: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub drill: bool,
    pub commander: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub compromised_since: Option<DateTime<Utc>>,
    pub contain_bundle_version: Option<i64>,
    pub contained_at: Option<DateTime<Utc>>,
    pub propagated_at: Option<DateTime<Utc>>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub key_id: Option<Uuid>,
    pub key_name: Option<String>,
    pub key_fingerprint: Option<String>,
    pub key_status: Option<String>,
    pub replacement_key_id: Option<Uuid>,
    pub replacement_key_name: Option<String>,
    pub playbook_document: Json<Playbook>,
}

const INCIDENT_COLUMNS: &str = "i.id, i.playbook, i.playbook_version, i.title, i.severity,
    i.status, i.drill, i.commander, i.opened_by, i.opened_at, i.closed_at, i.compromised_since,
    i.contain_bundle_version, i.contained_at, i.propagated_at, i.recovered_at, i.key_id,
    k.name AS key_name, k.fingerprint AS key_fingerprint, k.status AS key_status,
    i.replacement_key_id, r.name AS replacement_key_name, i.playbook_document";

const INCIDENT_FROM: &str = "incidents i
    LEFT JOIN keys k ON k.id = i.key_id
    LEFT JOIN keys r ON r.id = i.replacement_key_id";

/// One stored step, with what the state machine does not need.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub state: StepState,
    pub requested_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// What an action did, or the snapshot a query step kept when it was completed.
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub step_id: Option<String>,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// An incident with its playbook, steps and comments.
#[derive(Debug, Clone)]
pub struct Incident {
    pub row: IncidentRow,
    pub steps: Vec<(String, StepRecord)>,
    pub comments: Vec<Comment>,
}

impl Incident {
    pub fn playbook(&self) -> &Playbook {
        &self.row.playbook_document.0
    }

    /// The state machine over the stored steps.
    pub fn progress(&self) -> Result<Progress<'_>, ServiceError> {
        Progress::new(
            self.playbook(),
            self.steps
                .iter()
                .map(|(id, r)| (id.clone(), r.state.clone())),
        )
        .map_err(|e| ServiceError::Internal(format!("incident {}: {e}", self.row.id)))
    }

    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|(s, _)| s == id).map(|(_, r)| r)
    }

    pub fn is_closed(&self) -> bool {
        self.row.status == "closed"
    }
}

/// The audit target of an incident.
pub fn audit_target(id: Uuid) -> String {
    format!("incident:{id}")
}

/// Opens an incident: validates the declaration against the catalog, copies the playbook, and
/// records who opened it. The clock starts now.
pub async fn declare(
    pool: &PgPool,
    actor: &Actor,
    catalog: &Catalog,
    declaration: &Declaration,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    let playbook = catalog.get(&declaration.playbook).ok_or_else(|| {
        ServiceError::Invalid(format!(
            "playbook: {:?} is not a playbook; expected one of {}",
            declaration.playbook,
            catalog
                .list()
                .map(|p| p.id())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let title = declaration.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ServiceError::Invalid(
            "title: say in a line what happened (1 to 200 characters)".into(),
        ));
    }
    if !SEVERITIES.contains(&declaration.severity.as_str()) {
        return Err(ServiceError::Invalid(format!(
            "severity: {:?} is not a severity; expected {}",
            declaration.severity,
            SEVERITIES.join(", ")
        )));
    }
    if declaration
        .compromised_since
        .is_some_and(|t| t > now + chrono::TimeDelta::minutes(5))
    {
        return Err(ServiceError::Invalid(
            "compromised_since: lies in the future; give the earliest time the key could have been exposed".into(),
        ));
    }
    let needs_key = playbook_acts_on_key(playbook);
    let mut tx = pool.begin().await?;
    let commander: Option<(String, bool)> =
        sqlx::query_as("SELECT role, disabled FROM users WHERE email = $1")
            .bind(declaration.commander.trim())
            .fetch_optional(&mut *tx)
            .await?;
    match commander {
        Some((role, false)) if role == "security" || role == "admin" => {}
        Some(_) => {
            return Err(ServiceError::Invalid(format!(
                "commander: {} is not an enabled security or admin user",
                declaration.commander.trim()
            )))
        }
        None => {
            return Err(ServiceError::Invalid(format!(
                "commander: nobody has the e-mail {:?}",
                declaration.commander.trim()
            )))
        }
    }
    let key: Option<(Uuid, String, String)> = match declaration
        .key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(name) => Some(
            sqlx::query_as("SELECT id, fingerprint, status FROM keys WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| ServiceError::Invalid(format!("key: no key is named {name:?}")))?,
        ),
        None if needs_key => {
            return Err(ServiceError::Invalid(format!(
                "key: the {} playbook acts on a key; pick the key",
                playbook.title()
            )))
        }
        None => None,
    };
    let compromised_since = key
        .as_ref()
        .map(|_| declaration.compromised_since.unwrap_or(now));
    let id = Uuid::now_v7();
    let document =
        serde_json::to_value(playbook).map_err(|e| ServiceError::Internal(e.to_string()))?;
    // The audit entry first: the incident's clock starts at its time, so the review's figures
    // and the audit log agree.
    let declared = audit::append(
        &mut tx,
        actor,
        "incident.declared",
        &audit_target(id),
        json!({
            "playbook": playbook.id(),
            "playbook_version": playbook.version(),
            "title": title,
            "severity": declaration.severity,
            "commander": declaration.commander.trim(),
            "key": key.as_ref().map(|k| &k.1),
            "key_status": key.as_ref().map(|k| &k.2),
            "compromised_since": compromised_since,
            "drill": declaration.drill,
        }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO incidents (id, playbook, playbook_version, title, severity, key_id,
                                commander, opened_by, opened_at, playbook_document, drill,
                                compromised_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(playbook.id())
    .bind(playbook.version().to_string())
    .bind(title)
    .bind(&declaration.severity)
    .bind(key.as_ref().map(|k| k.0))
    .bind(declaration.commander.trim())
    .bind(&actor.label)
    .bind(declared.at)
    .bind(&document)
    .bind(declaration.drill)
    .bind(compromised_since)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Playbooks with an action on "the incident's key" need one at declaration.
fn playbook_acts_on_key(playbook: &Playbook) -> bool {
    use domain::playbook::{ActionKind, StepKind};
    playbook.steps().iter().any(|s| {
        matches!(
            &s.kind,
            StepKind::Action {
                action: ActionKind::ContainKey
                    | ActionKind::RevokeKey
                    | ActionKind::RetireKey
                    | ActionKind::RegisterReplacementKey,
                ..
            }
        )
    })
}

/// Reads an incident whole.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Incident, ServiceError> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, id, false).await
}

/// Reads an incident inside a transaction; `lock` takes its row for the transaction, which is
/// how changes to one incident are serialized.
pub(crate) async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Incident, ServiceError> {
    if lock {
        sqlx::query("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("incident {id}")))?;
    }
    let row: IncidentRow = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM {INCIDENT_FROM} WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ServiceError::NotFound(format!("incident {id}")))?;
    let steps = load_steps(conn, id).await?;
    let comments: Vec<Comment> = sqlx::query_as(
        "SELECT id, step_id, author, body, created_at FROM incident_comments
          WHERE incident_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Incident {
        row,
        steps,
        comments,
    })
}

#[derive(sqlx::FromRow)]
struct StepRow {
    step_id: String,
    status: String,
    requested_by: Option<String>,
    approved_by: Option<String>,
    done_by: Option<String>,
    done_at: Option<DateTime<Utc>>,
    override_reason: Option<String>,
    ticked: Vec<i32>,
    requested_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    data: serde_json::Value,
}

async fn load_steps(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<(String, StepRecord)>, ServiceError> {
    let rows: Vec<StepRow> = sqlx::query_as(
        "SELECT step_id, status, requested_by, approved_by, done_by, done_at, override_reason,
                ticked, requested_at, approved_at, updated_at, data
           FROM incident_steps WHERE incident_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let status = StepStatus::parse(&r.status).map_err(ServiceError::Internal)?;
            Ok((
                r.step_id,
                StepRecord {
                    state: StepState {
                        status,
                        requested_by: r.requested_by,
                        approved_by: r.approved_by,
                        done_by: r.done_by,
                        override_reason: r.override_reason,
                        ticked: r
                            .ticked
                            .into_iter()
                            .filter_map(|i| usize::try_from(i).ok())
                            .collect(),
                    },
                    requested_at: r.requested_at,
                    approved_at: r.approved_at,
                    done_at: r.done_at,
                    updated_at: r.updated_at,
                    data: r.data,
                },
            ))
        })
        .collect()
}

/// An incident as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSummary {
    pub id: Uuid,
    pub title: String,
    pub playbook: String,
    pub severity: String,
    pub status: String,
    pub drill: bool,
    pub commander: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub key_name: Option<String>,
    /// The titles of the steps someone can work on now; empty once closed.
    pub current_steps: Vec<String>,
}

/// Open incidents first (newest first), then the most recent closed ones.
pub async fn list(pool: &PgPool, closed_limit: i64) -> Result<Vec<IncidentSummary>, ServiceError> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
        "(SELECT {INCIDENT_COLUMNS} FROM {INCIDENT_FROM} WHERE i.status <> 'closed')
         UNION ALL
         (SELECT {INCIDENT_COLUMNS} FROM {INCIDENT_FROM} WHERE i.status = 'closed'
           ORDER BY i.opened_at DESC LIMIT $1)"
    ))
    .bind(closed_limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let steps = load_steps(&mut conn, row.id).await?;
        let incident = Incident {
            row,
            steps,
            comments: Vec::new(),
        };
        let current_steps = if incident.is_closed() {
            Vec::new()
        } else {
            incident
                .progress()?
                .ready()
                .into_iter()
                .map(|s| s.title.clone())
                .collect()
        };
        let r = incident.row;
        out.push(IncidentSummary {
            id: r.id,
            title: r.title,
            playbook: r.playbook_document.0.title().to_owned(),
            severity: r.severity,
            status: r.status,
            drill: r.drill,
            commander: r.commander,
            opened_at: r.opened_at,
            closed_at: r.closed_at,
            key_name: r.key_name,
            current_steps,
        });
    }
    out.sort_by(|a, b| {
        (a.closed_at.is_some(), std::cmp::Reverse(a.opened_at))
            .cmp(&(b.closed_at.is_some(), std::cmp::Reverse(b.opened_at)))
    });
    Ok(out)
}

/// Adds a comment to the incident or one of its steps; audited like every other change.
pub async fn comment(
    pool: &PgPool,
    actor: &Actor,
    who: &Responder,
    id: Uuid,
    step_id: Option<&str>,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    if !matches!(who.role, Role::Security | Role::Admin) {
        return Err(ServiceError::Forbidden(format!(
            "a {} user cannot comment on an incident: security and admin users do",
            who.role
        )));
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(ServiceError::Invalid(
            "comment: write something (at most 10,000 characters)".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    let incident = load(&mut tx, id, true).await?;
    if let Some(step) = step_id {
        if incident.playbook().step(step).is_none() {
            return Err(ServiceError::Invalid(format!(
                "step: the playbook has no step {step:?}"
            )));
        }
    }
    let comment_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO incident_comments (id, incident_id, step_id, author, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(comment_id)
    .bind(id)
    .bind(step_id)
    .bind(&who.email)
    .bind(body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "incident.commented",
        &audit_target(id),
        json!({"step": step_id, "comment": comment_id, "body": body}),
    )
    .await?;
    tx.commit().await?;
    Ok(comment_id)
}

/// Closes an incident whose required steps are all finished. Closing twice is refused.
pub async fn close(
    pool: &PgPool,
    actor: &Actor,
    who: &Responder,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !matches!(who.role, Role::Security | Role::Admin) {
        return Err(ServiceError::Forbidden(format!(
            "a {} user cannot close an incident: security and admin users do",
            who.role
        )));
    }
    let mut tx = pool.begin().await?;
    let incident = load(&mut tx, id, true).await?;
    if incident.is_closed() {
        return Err(ServiceError::Conflict(
            "the incident is already closed".into(),
        ));
    }
    incident
        .progress()?
        .may_close()
        .map_err(|e| ServiceError::Conflict(e.to_string()))?;
    sqlx::query("UPDATE incidents SET status = 'closed', closed_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "incident.closed",
        &audit_target(id),
        json!({"from": incident.row.status}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
