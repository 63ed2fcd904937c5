//! What Trustwatch does when an action step is completed, inside the step's transaction: the
//! change, its trust-bundle version and the step's record commit together or not at all.
//!
//! In a drill nothing changes: each action checks its input exactly as for real, then records
//! what it *would* have done with `"simulated": true`. No key status changes, no bundle is
//! published, no policy is applied and nothing leaves for a webhook; the clock and the approvals
//! run as in a real incident, so drills measure the team's speed.

use chrono::{DateTime, Utc};
use domain::playbook::ActionKind;
use domain::policy::rotation::replace_key;
use domain::{KeyStatus, PublicKey};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::steps::{ActionInput, ContainMode};
use super::{load, Incident};
use crate::alerts::Webhooks;
use crate::keys::{self, KeyImport};
use crate::policies::{self, ApplyError, ApplyOptions, DocumentChange};
use crate::trust_bundle::{self, Publisher};
use crate::{Actor, ServiceError};

/// What an action did: the record kept with the step, and a sentence for the person.
#[derive(Debug, Clone)]
pub struct Performed {
    pub data: serde_json::Value,
    pub message: String,
    /// The phase this action ends, if any.
    pub milestone: Option<Milestone>,
}

/// A phase of the response that ends with a step: its time is the step's audit entry's, so the
/// review's figures and the audit log agree to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// The key is contained; clusters must acknowledge this bundle version.
    Contained {
        bundle_version: Option<i64>,
    },
    /// Every active cluster acknowledged, at this time (the last acknowledgement), or by hand.
    Propagated {
        at: Option<DateTime<Utc>>,
    },
    Recovered,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn perform(
    conn: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    webhooks: &Webhooks,
    incident: &Incident,
    action: ActionKind,
    input: &ActionInput,
    now: DateTime<Utc>,
) -> Result<Performed, ServiceError> {
    let row = &incident.row;
    let drill = row.drill;
    let key_name = || {
        row.key_name.clone().ok_or_else(|| {
            ServiceError::Invalid(format!(
                "the {} action needs the incident's key, and this incident has none",
                action
            ))
        })
    };
    match action {
        ActionKind::ContainKey => {
            let key = key_name()?;
            let (status, since) = match input.contain_mode {
                ContainMode::CompromisedSince => (KeyStatus::Compromised, row.compromised_since),
                ContainMode::Revoke => (KeyStatus::Revoked, None),
            };
            let version = if drill {
                // The version clusters already run stands in for the one containment would
                // publish: the drill's propagation measures how fast they would have it.
                trust_bundle::head(&mut *conn).await?.map(|h| h.version)
            } else {
                let change =
                    keys::set_status_in(conn, actor, publisher, &key, status, since, now).await?;
                match change.bundle_version {
                    Some(v) => Some(v),
                    None => trust_bundle::head(&mut *conn).await?.map(|h| h.version),
                }
            };
            let version = version.map(|v| v as i64);
            let what = match input.contain_mode {
                ContainMode::CompromisedSince => format!(
                    "marked compromised since {}",
                    since.map(|t| t.to_rfc3339()).unwrap_or_default()
                ),
                ContainMode::Revoke => "revoked".to_owned(),
            };
            Ok(Performed {
                data: json!({
                    "simulated": drill,
                    "key": key,
                    "mode": input.contain_mode.as_str(),
                    "since": since,
                    "bundle_version": version,
                }),
                milestone: Some(Milestone::Contained {
                    bundle_version: version,
                }),
                message: match (drill, version) {
                    (true, _) => {
                        format!("DRILL: key {key} would have been {what}; nothing changed.")
                    }
                    (false, Some(v)) => {
                        format!("Key {key} {what}; trust bundle version {v} published.")
                    }
                    (false, None) => format!("Key {key} {what}."),
                },
            })
        }
        ActionKind::RevokeKey | ActionKind::RetireKey => {
            let key = key_name()?;
            let status = if action == ActionKind::RevokeKey {
                KeyStatus::Revoked
            } else {
                KeyStatus::Retiring
            };
            let version = if drill {
                None
            } else {
                keys::set_status_in(conn, actor, publisher, &key, status, None, now)
                    .await?
                    .bundle_version
            };
            Ok(Performed {
                data: json!({"simulated": drill, "key": key, "status": status.as_str(), "bundle_version": version}),
                message: if drill {
                    format!("DRILL: key {key} would now be {status}; nothing changed.")
                } else {
                    format!("Key {key} is now {status}.")
                },
                milestone: None,
            })
        }
        ActionKind::PublishTrustBundle => {
            if drill {
                return Ok(Performed {
                    data: json!({"simulated": true}),
                    message: "DRILL: a trust bundle would have been published; nothing changed."
                        .into(),
                    milestone: None,
                });
            }
            let published = trust_bundle::publish(
                conn,
                actor,
                publisher,
                &format!("incident {}: {}", row.id, row.title),
            )
            .await?;
            Ok(Performed {
                data: json!({"simulated": false, "bundle_version": published.version}),
                message: format!("Trust bundle version {} published.", published.version),
                milestone: None,
            })
        }
        ActionKind::NotifyWebhooks => {
            let queued = if drill {
                0
            } else {
                super::notify::queue(conn, row.id, webhooks, now).await?
            };
            Ok(Performed {
                data: json!({"simulated": drill, "queued": queued}),
                message: match (drill, queued, webhooks.targets.len()) {
                    (true, _, _) => "DRILL: no notification left Trustwatch.".into(),
                    (false, _, 0) => "No webhooks are configured: nobody was notified.".into(),
                    (false, 0, _) => "Every webhook was already notified of this incident.".into(),
                    (false, n, _) => format!(
                        "Notification queued for {n} webhook(s); it is sent within a minute."
                    ),
                },
                milestone: None,
            })
        }
        ActionKind::RegisterReplacementKey => {
            register_replacement(conn, actor, publisher, incident, input, now).await
        }
        ActionKind::UpdatePolicies => {
            if drill
                && row.replacement_key_name.is_none()
                && input
                    .policy_yaml
                    .as_deref()
                    .is_none_or(|y| y.trim().is_empty())
            {
                // The drill's replacement key was never registered, so there is nothing the
                // rewritten policies could name.
                return Ok(Performed {
                    data: json!({"simulated": true, "changes": []}),
                    message: "DRILL: the policies would now be changed to trust the replacement key; nothing changed.".into(),
                    milestone: None,
                });
            }
            let items = policy_change(conn, incident, input).await?;
            let outcome = policies::apply_items_in(
                conn,
                actor,
                publisher,
                items,
                ApplyOptions {
                    dry_run: drill,
                    prune: false,
                },
            )
            .await
            .map_err(apply_error)?;
            let changes: Vec<_> = outcome
                .changes
                .iter()
                .map(|c| json!({"kind": c.kind.as_str(), "name": c.name, "change": c.change.as_str()}))
                .collect();
            let changed = outcome.changed();
            Ok(Performed {
                data: json!({"simulated": drill, "changes": changes, "bundle_version": outcome.bundle_version}),
                message: match (drill, changed, outcome.bundle_version) {
                    (true, _, _) => "DRILL: the policies were checked and not changed.".into(),
                    (false, false, _) => "The policies already say this: nothing changed.".into(),
                    (false, true, Some(v)) => {
                        format!("Policies updated; trust bundle version {v} published.")
                    }
                    (false, true, None) => "Policies updated.".into(),
                },
                milestone: None,
            })
        }
    }
}

async fn register_replacement(
    conn: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    incident: &Incident,
    input: &ActionInput,
    now: DateTime<Utc>,
) -> Result<Performed, ServiceError> {
    let row = &incident.row;
    let old = match &row.key_name {
        Some(name) => keys::get_in(conn, name).await?,
        None => None,
    }
    .ok_or_else(|| ServiceError::Invalid("the incident has no key to replace".into()))?;
    let name = input
        .replacement_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ServiceError::Invalid("replacement_name: name the new key".into()))?;
    let pem = input
        .replacement_pem
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ServiceError::Invalid(
                "replacement_pem: paste the new key's public half (PEM, PUBLIC KEY)".into(),
            )
        })?;
    let custody = input
        .replacement_custody
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| old.custody.clone());
    let public_key = PublicKey::parse_pem(pem)
        .map_err(|e| ServiceError::Invalid(format!("replacement_pem: {e}")))?;
    if public_key.fingerprint().to_string() == old.fingerprint {
        return Err(ServiceError::Invalid(
            "replacement_pem: this is the compromised key itself; generate a new key pair".into(),
        ));
    }
    if row.drill {
        return Ok(Performed {
            data: json!({"simulated": true, "name": name, "fingerprint": public_key.fingerprint().to_string()}),
            message: format!("DRILL: key {name} would have been registered; nothing changed."),
            milestone: None,
        });
    }
    let change = keys::import_in(
        conn,
        actor,
        publisher,
        &KeyImport {
            name: name.to_owned(),
            public_key_pem: pem.to_owned(),
            owner_team: old.owner_team.clone(),
            custody,
            custody_uri: input.replacement_custody_uri.clone(),
            valid_from: None,
            valid_until: None,
            rotation_period_days: old.rotation_period_days,
        },
        now,
    )
    .await?;
    sqlx::query("UPDATE incidents SET replacement_key_id = $2 WHERE id = $1")
        .bind(row.id)
        .bind(change.key.id)
        .execute(&mut *conn)
        .await?;
    Ok(Performed {
        data: json!({
            "simulated": false,
            "name": name,
            "fingerprint": change.key.fingerprint,
            "bundle_version": change.bundle_version,
        }),
        message: format!(
            "Key {name} registered for team {}; the policies still trust the old key until the next step.",
            old.owner_team
        ),
        milestone: None,
    })
}

/// The documents the update-policies step applies: the proposal given, or else every policy and
/// key group that trusted the incident's key, rewritten to trust the replacement.
async fn policy_change(
    conn: &mut PgConnection,
    incident: &Incident,
    input: &ActionInput,
) -> Result<Vec<(usize, domain::PolicyItem)>, ServiceError> {
    if let Some(yaml) = input
        .policy_yaml
        .as_deref()
        .filter(|y| !y.trim().is_empty())
    {
        return domain::policy::parse_documents_indexed(yaml)
            .map_err(|p| ServiceError::Invalid(p.to_string()));
    }
    let row = &incident.row;
    let (Some(old), new) = (&row.key_name, row.replacement_key_name.clone()) else {
        return Err(ServiceError::Invalid(
            "the incident has no key whose policies could be updated; paste the policy change"
                .into(),
        ));
    };
    let new = new.ok_or_else(|| {
        ServiceError::Invalid(
            "register the replacement key first: the policies are changed to trust it".into(),
        )
    })?;
    let mut items: Vec<domain::PolicyItem> = trust_bundle::load_key_groups(conn)
        .await?
        .into_iter()
        .map(domain::PolicyItem::KeyGroup)
        .collect();
    items.extend(
        trust_bundle::load_policies(conn)
            .await?
            .into_iter()
            .map(domain::PolicyItem::Policy),
    );
    Ok(replace_key(&items, old, &new)
        .into_iter()
        .enumerate()
        .collect())
}

fn apply_error(e: ApplyError) -> ServiceError {
    match e {
        ApplyError::Invalid(problems) => ServiceError::Invalid(problems.to_string()),
        ApplyError::Service(e) => e,
    }
}

/// What the update-policies step would change, as diffs, without changing anything: shown before
/// the step is completed.
pub async fn policy_preview(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    id: Uuid,
    policy_yaml: Option<&str>,
) -> Result<Vec<DocumentChange>, ServiceError> {
    let mut tx = pool.begin().await?;
    let incident = load(&mut tx, id, false).await?;
    let input = ActionInput {
        policy_yaml: policy_yaml.map(str::to_owned),
        ..ActionInput::default()
    };
    let items = policy_change(&mut tx, &incident, &input).await?;
    let outcome = policies::apply_items_in(
        &mut tx,
        actor,
        publisher,
        items,
        ApplyOptions {
            dry_run: true,
            prune: false,
        },
    )
    .await
    .map_err(apply_error)?;
    tx.rollback().await?;
    Ok(outcome
        .changes
        .into_iter()
        .filter(|c| c.change != policies::ChangeKind::Unchanged)
        .collect())
}
