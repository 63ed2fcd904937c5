//! The post-incident review: the timeline from the audit log, the three figures, what was
//! overridden or left unticked, and the write-up; exported as Markdown for the record.
//!
//! The figures are measured from the incident's declaration (the time of its `incident.declared`
//! audit entry) to the phases' ends, which are the times of the audit entries of the steps that
//! ended them — or, for propagation that completed itself, the last cluster's acknowledgement,
//! which that step's audit entry records. So the review and the audit log cannot disagree.

use chrono::{DateTime, TimeDelta, Utc};
use domain::AuditEntry;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{audit_target, Incident};
use crate::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// The person (e-mail) or `trustwatch` for what happened by itself.
    pub who: String,
    pub what: String,
    /// An emergency override: flagged in the timeline.
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub time_to_contain: Option<TimeDelta>,
    pub time_to_propagate: Option<TimeDelta>,
    pub time_to_recover: Option<TimeDelta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub figures: Figures,
    pub timeline: Vec<TimelineEntry>,
    /// Approvals bypassed by an emergency override: step and reason.
    pub overrides: Vec<(String, String)>,
    /// Checklist items completed steps left unticked: step title and item.
    pub unticked: Vec<(String, String)>,
    pub root_cause: Option<String>,
    pub follow_ups: Option<String>,
}

pub fn figures(incident: &Incident) -> Figures {
    let r = &incident.row;
    let since = |t: Option<DateTime<Utc>>| t.map(|t| t - r.opened_at);
    Figures {
        time_to_contain: since(r.contained_at),
        time_to_propagate: since(r.propagated_at),
        time_to_recover: since(r.recovered_at),
    }
}

/// The incident's audit entries, oldest first.
pub async fn audit_entries(pool: &PgPool, id: Uuid) -> Result<Vec<AuditEntry>, ServiceError> {
    crate::audit::for_target(pool, &audit_target(id)).await
}

pub async fn assemble(pool: &PgPool, incident: &Incident) -> Result<Review, ServiceError> {
    let entries = audit_entries(pool, incident.row.id).await?;
    let playbook = incident.playbook();
    let title_of = |step: &str| {
        playbook
            .step(step)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| step.to_owned())
    };
    let timeline = entries
        .iter()
        .map(|e| {
            let d = &e.detail;
            // An override is stored on the approval it skips: name that step.
            let step = d["stored_step"]
                .as_str()
                .or(d["step"].as_str())
                .map(title_of)
                .unwrap_or_default();
            let what = match e.action.as_str() {
                "incident.declared" => format!(
                    "Declared ({} severity, commander {}{})",
                    d["severity"].as_str().unwrap_or("?"),
                    d["commander"].as_str().unwrap_or("?"),
                    d["compromised_since"]
                        .as_str()
                        .map(|t| format!(", T = {t}"))
                        .unwrap_or_default()
                ),
                "incident.step_approval_requested" => format!("Asked for approval: {step}"),
                "incident.step_approved" => format!("Approved: {step}"),
                "incident.step_completed" if d["automatic"] == true => {
                    format!("Completed by itself: {step} (every active cluster acknowledged)")
                }
                "incident.step_completed" => match d["data"]["bundle_version"].as_i64() {
                    Some(v) if d["data"]["simulated"] != true => {
                        format!("Completed: {step} (trust bundle version {v})")
                    }
                    _ => format!("Completed: {step}"),
                },
                "incident.step_skipped" => format!("Skipped: {step}"),
                "incident.step_emergency_override" => format!(
                    "EMERGENCY OVERRIDE of the approval {step}: {}",
                    d["override_reason"].as_str().unwrap_or("")
                ),
                "incident.step_item_ticked" => format!("Checklist ticked: {step}"),
                "incident.commented" => {
                    let body = d["body"].as_str().unwrap_or("");
                    let short: String = body.chars().take(140).collect();
                    let more = if body.chars().count() > 140 {
                        "…"
                    } else {
                        ""
                    };
                    if step.is_empty() {
                        format!("Comment: {short}{more}")
                    } else {
                        format!("Comment on {step}: {short}{more}")
                    }
                }
                "incident.closed" => "Closed".to_owned(),
                other => other.to_owned(),
            };
            TimelineEntry {
                at: e.at,
                who: e.actor.strip_prefix("user:").unwrap_or(&e.actor).to_owned(),
                what,
                flagged: e.action == "incident.step_emergency_override",
            }
        })
        .collect();
    let progress = incident.progress()?;
    let overrides = progress
        .overrides()
        .into_iter()
        .map(|(s, r)| (title_of(s), r.to_owned()))
        .collect();
    let unticked = progress
        .unticked()
        .into_iter()
        .map(|(s, item)| (title_of(s), item.to_owned()))
        .collect();
    let written = playbook
        .steps()
        .iter()
        .find(|s| matches!(s.kind, domain::playbook::StepKind::Review))
        .and_then(|s| incident.step(&s.id))
        .map(|r| r.data.clone());
    let text = |field: &str| {
        written
            .as_ref()
            .and_then(|d| d[field].as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    Ok(Review {
        figures: figures(incident),
        timeline,
        overrides,
        unticked,
        root_cause: text("root_cause"),
        follow_ups: text("follow_ups"),
    })
}

/// A duration as people say it in a review: "4 min 12 s", "2 h 5 min", "3 d 4 h".
pub fn human(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The review as a Markdown document.
pub fn to_markdown(incident: &Incident, review: &Review) -> String {
    let r = &incident.row;
    let mut md = String::new();
    let drill = if r.drill { "DRILL — " } else { "" };
    md.push_str(&format!("# {drill}Post-incident review: {}\n\n", r.title));
    if r.drill {
        md.push_str(
            "> This was a drill: every action was simulated. No key, policy or bundle changed.\n\n",
        );
    }
    md.push_str(&format!(
        "- Playbook: {} (version {})\n- Severity: {}\n- Commander: {}\n- Opened: {} by {}\n",
        incident.playbook().title(),
        r.playbook_version,
        r.severity,
        r.commander,
        r.opened_at.to_rfc3339(),
        r.opened_by.strip_prefix("user:").unwrap_or(&r.opened_by)
    ));
    if let (Some(k), Some(fp)) = (&r.key_name, &r.key_fingerprint) {
        md.push_str(&format!("- Key: {k} (`{fp}`)\n"));
    }
    if let Some(t) = r.compromised_since {
        md.push_str(&format!(
            "- Suspected compromise time T: {}\n",
            t.to_rfc3339()
        ));
    }
    if let Some(c) = r.closed_at {
        md.push_str(&format!("- Closed: {}\n", c.to_rfc3339()));
    }
    md.push_str("\n## Figures\n\n| Phase | From declaration |\n|---|---|\n");
    let f = &review.figures;
    for (label, v) in [
        ("Time to contain", f.time_to_contain),
        ("Time to full propagation", f.time_to_propagate),
        ("Time to recover", f.time_to_recover),
    ] {
        md.push_str(&format!(
            "| {label} | {} |\n",
            v.map(human).unwrap_or_else(|| "not reached".into())
        ));
    }
    if !review.overrides.is_empty() {
        md.push_str("\n## Emergency overrides\n\n");
        for (step, reason) in &review.overrides {
            md.push_str(&format!("- **{step}** — {reason}\n"));
        }
    }
    md.push_str("\n## Root cause\n\n");
    md.push_str(review.root_cause.as_deref().unwrap_or("_Not written yet._"));
    md.push_str("\n\n## Follow-ups\n\n");
    md.push_str(review.follow_ups.as_deref().unwrap_or("_None recorded._"));
    md.push('\n');
    if !review.unticked.is_empty() {
        md.push_str("\n## Checklist items left unticked\n\n");
        for (step, item) in &review.unticked {
            md.push_str(&format!("- {step}: {item}\n"));
        }
    }
    md.push_str(
        "\n## Timeline (from the audit log)\n\n| When (UTC) | Who | What |\n|---|---|---|\n",
    );
    for e in &review.timeline {
        let what = e.what.replace('|', "\\|").replace('\n', " ");
        let what = if e.flagged {
            format!("**{what}**")
        } else {
            what
        };
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.who,
            what
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(TimeDelta::seconds(42)), "42 s");
        assert_eq!(human(TimeDelta::seconds(252)), "4 min 12 s");
        assert_eq!(human(TimeDelta::minutes(125)), "2 h 5 min");
        assert_eq!(human(TimeDelta::hours(76)), "3 d 4 h");
    }
}
