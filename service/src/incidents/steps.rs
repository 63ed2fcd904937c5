//! Working an incident's steps: one transaction per move, the incident's row locked, the move
//! judged by `domain::playbook::run` against the steps as stored now, the step's action performed,
//! the step stored and the move audited.

use chrono::{DateTime, Utc};
use domain::playbook::{
    Participant, Progress, QueryKind, RunError, StepKind, StepStatus, Transition,
};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::{self, Milestone};
use super::{audit_target, load, Responder};
use crate::trust_bundle::Publisher;
use crate::{audit, Actor, ServiceError};

/// What someone does to a step.
#[derive(Debug, Clone)]
pub enum StepCommand {
    /// Ask a second security user to approve (approval steps).
    RequestApproval,
    /// Give a requested approval (approval steps; never one's own request).
    Approve,
    /// Finish the step; an action step performs its action with this input.
    Complete(ActionInput),
    /// Skip an optional step.
    Skip,
    /// Run an action without waiting for its approval, with a written reason.
    EmergencyOverride { reason: String },
    /// Tick or untick an item of a checklist.
    Tick { item: usize, ticked: bool },
}

impl StepCommand {
    fn verb(&self) -> &'static str {
        match self {
            StepCommand::RequestApproval => "approval_requested",
            StepCommand::Approve => "approved",
            StepCommand::Complete(_) => "completed",
            StepCommand::Skip => "skipped",
            StepCommand::EmergencyOverride { .. } => "emergency_override",
            StepCommand::Tick { .. } => "item_ticked",
        }
    }
}

/// How containment treats the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContainMode {
    /// Signatures recorded before T stay valid; at or after T they are refused.
    #[default]
    CompromisedSince,
    /// No signature by the key counts any more.
    Revoke,
}

impl ContainMode {
    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        match s.trim() {
            "" | "compromised" => Ok(Self::CompromisedSince),
            "revoke" | "revoked" => Ok(Self::Revoke),
            other => Err(ServiceError::Invalid(format!(
                "contain_mode: {other:?} is not a containment; expected compromised or revoke"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CompromisedSince => "compromised",
            Self::Revoke => "revoke",
        }
    }
}

/// What completing a step may need, by kind: containment's mode, the replacement key, a policy
/// proposal, the review's write-up.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub contain_mode: ContainMode,
    pub replacement_name: Option<String>,
    pub replacement_pem: Option<String>,
    /// `file`, `kms` or `hsm`; default: the old key's.
    pub replacement_custody: Option<String>,
    pub replacement_custody_uri: Option<String>,
    /// Policy and key-group documents to apply instead of the computed rotation (a rejection
    /// storm's mode change, say).
    pub policy_yaml: Option<String>,
    /// The review: how it happened, why T, what slowed each phase.
    pub root_cause: Option<String>,
    /// The review: follow-ups with owners and dates.
    pub follow_ups: Option<String>,
}

/// Performs `command` on step `step_id` of incident `id` as `who`; returns what happened, in a
/// sentence for the person who did it.
#[allow(clippy::too_many_arguments)]
pub async fn act(
    pool: &sqlx::PgPool,
    actor: &Actor,
    publisher: &Publisher,
    webhooks: &crate::alerts::Webhooks,
    who: &Responder,
    id: Uuid,
    step_id: &str,
    command: StepCommand,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let mut tx = pool.begin().await?;
    let incident = load(&mut tx, id, true).await?;
    if incident.is_closed() {
        return Err(ServiceError::Conflict(
            "the incident is closed: nothing more can be done on it".into(),
        ));
    }
    let progress = incident.progress()?;
    let participant = Participant {
        name: &who.email,
        role: who.role,
    };
    let transition = match &command {
        StepCommand::RequestApproval => progress.request_approval(step_id, participant),
        StepCommand::Approve => progress.approve(step_id, participant),
        StepCommand::Complete(_) => progress.complete(step_id, participant),
        StepCommand::Skip => progress.skip(step_id, participant),
        StepCommand::EmergencyOverride { reason } => {
            progress.emergency_override(step_id, participant, reason)
        }
        StepCommand::Tick { item, ticked } => progress.tick(step_id, *item, *ticked, participant),
    }
    .map_err(run_error)?;

    let mut data = serde_json::Value::Object(Default::default());
    let mut milestone = None;
    let mut message = match &command {
        StepCommand::RequestApproval => "Approval requested.".to_owned(),
        StepCommand::Approve => "Approved.".to_owned(),
        StepCommand::Skip => "Step skipped.".to_owned(),
        StepCommand::EmergencyOverride { .. } => {
            "Emergency override recorded: the action may run without approval.".to_owned()
        }
        StepCommand::Tick { .. } => "Checklist updated.".to_owned(),
        StepCommand::Complete(_) => "Step completed.".to_owned(),
    };
    if let StepCommand::Complete(input) = &command {
        let step = incident
            .playbook()
            .step(step_id)
            .ok_or_else(|| ServiceError::Internal(format!("step {step_id} vanished")))?;
        match &step.kind {
            StepKind::Action { action, .. } => {
                let performed = actions::perform(
                    &mut tx, actor, publisher, webhooks, &incident, *action, input, now,
                )
                .await?;
                data = performed.data;
                message = performed.message;
                milestone = performed.milestone;
            }
            StepKind::Query { query, .. } => {
                milestone = match query {
                    QueryKind::Propagation => Some(Milestone::Propagated { at: None }),
                    QueryKind::Recovery => Some(Milestone::Recovered),
                    _ => None,
                };
            }
            StepKind::Review => {
                let root_cause = input.root_cause.as_deref().map(str::trim).unwrap_or("");
                if root_cause.is_empty() {
                    return Err(ServiceError::Invalid(
                        "root_cause: the review needs the root cause: how it happened and how it was detected".into(),
                    ));
                }
                let follow_ups = input.follow_ups.as_deref().map(str::trim).unwrap_or("");
                if root_cause.chars().count() > 20_000 || follow_ups.chars().count() > 20_000 {
                    return Err(ServiceError::Invalid(
                        "review: at most 20,000 characters per field".into(),
                    ));
                }
                data = json!({"root_cause": root_cause, "follow_ups": follow_ups});
                message = "Review written. The incident can be closed.".to_owned();
            }
            StepKind::Checklist { .. } | StepKind::Approval => {}
        }
    }
    store(&mut tx, id, &transition, &data, now).await?;
    let emergency = matches!(command, StepCommand::EmergencyOverride { .. });
    let entry = audit::append(
        &mut tx,
        actor,
        &format!("incident.step_{}", command.verb()),
        &audit_target(id),
        json!({
            "step": step_id,
            "stored_step": transition.step_id,
            "from": transition.from.as_str(),
            "to": transition.to.status.as_str(),
            "emergency_override": emergency,
            "override_reason": transition.to.override_reason,
            "drill": incident.row.drill,
            "data": data,
        }),
    )
    .await?;
    if let Some(m) = milestone {
        reach(&mut tx, id, m, entry.at).await?;
    }
    tx.commit().await?;
    if emergency {
        tracing::warn!(incident = %id, step = step_id, "emergency override of an approval");
    }
    Ok(message)
}

/// Records the end of a phase at `at`, the time of the audit entry of the step that ended it
/// (for automatic propagation, the last cluster's acknowledgement). The first time counts: a
/// phase is not ended twice.
async fn reach(
    conn: &mut PgConnection,
    id: Uuid,
    milestone: Milestone,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let query = match milestone {
        Milestone::Contained { bundle_version } => sqlx::query(
            "UPDATE incidents SET contained_at = coalesce(contained_at, $2),
                    contain_bundle_version = coalesce($3, contain_bundle_version),
                    status = CASE WHEN status = 'open' THEN 'contained' ELSE status END
              WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .bind(bundle_version),
        Milestone::Propagated { at: last_ack } => sqlx::query(
            "UPDATE incidents SET propagated_at = coalesce(propagated_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(last_ack.unwrap_or(at)),
        Milestone::Recovered => sqlx::query(
            "UPDATE incidents SET recovered_at = coalesce(recovered_at, $2),
                    status = CASE WHEN status = 'closed' THEN status ELSE 'recovered' END
              WHERE id = $1",
        )
        .bind(id)
        .bind(at),
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Writes the step's new state, guarded by the state it was judged from.
pub(super) async fn store(
    conn: &mut PgConnection,
    incident: Uuid,
    t: &Transition,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let to = &t.to;
    let done_at = matches!(to.status, StepStatus::Done | StepStatus::Skipped).then_some(now);
    let requested_at = (to.status == StepStatus::Requested).then_some(now);
    let approved_at = (to.status == StepStatus::Approved).then_some(now);
    let ticked: Vec<i32> = to
        .ticked
        .iter()
        .filter_map(|i| i32::try_from(*i).ok())
        .collect();
    let stored = sqlx::query(
        "INSERT INTO incident_steps (incident_id, step_id, status, requested_by, approved_by,
                                     done_by, done_at, override_reason, ticked, requested_at,
                                     approved_at, data, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (incident_id, step_id) DO UPDATE
            SET status = EXCLUDED.status, requested_by = EXCLUDED.requested_by,
                approved_by = EXCLUDED.approved_by, done_by = EXCLUDED.done_by,
                done_at = coalesce(EXCLUDED.done_at, incident_steps.done_at),
                override_reason = EXCLUDED.override_reason, ticked = EXCLUDED.ticked,
                requested_at = coalesce(EXCLUDED.requested_at, incident_steps.requested_at),
                approved_at = coalesce(EXCLUDED.approved_at, incident_steps.approved_at),
                data = incident_steps.data || EXCLUDED.data,
                updated_at = EXCLUDED.updated_at
          WHERE incident_steps.status = $14",
    )
    .bind(incident)
    .bind(&t.step_id)
    .bind(to.status.as_str())
    .bind(&to.requested_by)
    .bind(&to.approved_by)
    .bind(&to.done_by)
    .bind(done_at)
    .bind(&to.override_reason)
    .bind(&ticked)
    .bind(requested_at)
    .bind(approved_at)
    .bind(data)
    .bind(now)
    .bind(t.from.as_str())
    .execute(&mut *conn)
    .await?;
    if stored.rows_affected() != 1 {
        return Err(ServiceError::Conflict(format!(
            "step {:?} changed meanwhile; reload the incident",
            t.step_id
        )));
    }
    Ok(())
}

/// The state machine's refusals, as the errors callers map to HTTP statuses.
fn run_error(e: RunError) -> ServiceError {
    match e {
        RunError::NotPermitted(_)
        | RunError::ApproverNotSecurity(_)
        | RunError::SelfApproval(_) => ServiceError::Forbidden(e.to_string()),
        RunError::UnknownStep(_)
        | RunError::OverrideNeedsReason
        | RunError::NoSuchItem { .. }
        | RunError::WrongKind { .. }
        | RunError::OverrideNotAllowed(_)
        | RunError::NotAutomatic(_)
        | RunError::RequiredStep(_) => ServiceError::Invalid(e.to_string()),
        RunError::NotReady { .. }
        | RunError::WrongStatus { .. }
        | RunError::NotApproved { .. }
        | RunError::OpenRequiredSteps(_) => ServiceError::Conflict(e.to_string()),
    }
}

/// Completes the ready `auto_complete` query steps of open incidents whose condition holds now
/// (every active cluster has acknowledged the containing bundle). Called by the background loop
/// and before an incident page is read, so nobody waits for a person to notice.
pub async fn advance_automatic(
    pool: &sqlx::PgPool,
    active_within: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let open: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE status <> 'closed' AND contained_at IS NOT NULL
            AND propagated_at IS NULL",
    )
    .fetch_all(pool)
    .await?;
    let mut completed = 0;
    for id in open {
        completed += advance_one(pool, id, active_within, now).await?;
    }
    Ok(completed)
}

pub async fn advance_one(
    pool: &sqlx::PgPool,
    id: Uuid,
    active_within: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let mut tx = pool.begin().await?;
    let incident = load(&mut tx, id, true).await?;
    if incident.is_closed() {
        return Ok(0);
    }
    let progress: Progress<'_> = incident.progress()?;
    let candidates: Vec<String> = progress
        .ready()
        .into_iter()
        .filter(|s| {
            matches!(
                s.kind,
                StepKind::Query {
                    query: QueryKind::Propagation,
                    auto_complete: true
                }
            )
        })
        .map(|s| s.id.clone())
        .collect();
    let mut completed = 0;
    for step_id in candidates {
        let view = super::propagation::view(&mut tx, &incident.row, active_within, now).await?;
        let Some(at) = view.complete_at() else {
            continue;
        };
        let transition = progress
            .complete_automatically(&step_id)
            .map_err(run_error)?;
        let data = json!({
            "target_version": view.target_version,
            "clusters": view.clusters.len(),
            "completed_at": at,
        });
        store(&mut tx, id, &transition, &data, now).await?;
        reach(&mut tx, id, Milestone::Propagated { at: Some(at) }, at).await?;
        audit::append(
            &mut tx,
            &Actor {
                label: "trustwatch".into(),
                source_ip: None,
            },
            "incident.step_completed",
            &audit_target(id),
            json!({
                "step": step_id,
                "from": transition.from.as_str(),
                "to": "done",
                "automatic": true,
                "condition": QueryKind::Propagation.completion_condition(),
                "data": data,
                "drill": incident.row.drill,
            }),
        )
        .await?;
        completed += 1;
    }
    tx.commit().await?;
    Ok(completed)
}
