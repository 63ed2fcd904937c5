//! Playbooks: the incident procedures the security team follows, kept as data in the repository
//! (`playbooks/*.toml`) so they are reviewed like code and every incident runs a known version.
//!
//! A playbook is an ordered list of steps. Each step has a kind — a `checklist` a person works
//! through, an `action` Trustwatch performs, a live `query`, an `approval` by a second security
//! user, or the closing `review` — and may depend on earlier steps. A file enters the system only
//! through [`parse`], which reports the first problem with its file and line; what comes out is
//! always runnable: unique step ids, dependencies only on earlier steps, every gated action
//! behind an approval, exactly one review and it last. [`run`] is the state machine of one
//! incident over a playbook.
//!
//! `version` is a positive integer, raised whenever the steps change. An incident keeps the
//! version it started with (`incidents.playbook_version`), and [`Playbook`] is serializable so the
//! console can store the whole parsed playbook beside the incident: a later edit of the file never
//! changes a running incident.

mod catalog;
mod document;
pub mod run;
mod validate;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use catalog::Catalog;
pub use run::{Participant, Progress, RunError, StepState, StepStatus, Transition};

/// A playbook file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlaybookError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole (it cannot be read).
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.reason),
            line => write!(f, "{}:{line}: {}", self.file, self.reason),
        }
    }
}

/// Reads and validates one playbook file; `file_name` is only used in the error.
pub fn parse(file_name: &str, text: &str) -> Result<Playbook, PlaybookError> {
    validate::parse(file_name, text)
}

/// A validated playbook.
///
/// `Deserialize` exists to read back the copy stored with an incident, which was validated when
/// it was stored; files always come through [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    id: String,
    title: String,
    version: u32,
    description: String,
    steps: Vec<Step>,
}

impl Playbook {
    /// Lower-case letters, digits and '-': it is stored as `incidents.playbook`.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Markdown: when to use this playbook.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// In the order of the file, which is an order that respects every dependency; the last is
    /// the review.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub kind: StepKind,
    /// Markdown.
    pub instructions: String,
    /// Ids of earlier steps that must be finished (done, approved or skipped) first.
    pub depends_on: Vec<String>,
    /// An incident cannot be closed while a required step is unfinished; optional steps may be
    /// skipped.
    pub required: bool,
}

impl Step {
    /// The approval step that gates this action, if any.
    pub fn approval(&self) -> Option<&str> {
        match &self.kind {
            StepKind::Action { approval, .. } => approval.as_deref(),
            _ => None,
        }
    }
}

/// What a step is, with what each kind needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// A person works through the items and ticks them.
    Checklist { items: Vec<String> },
    /// Trustwatch changes something.
    Action {
        action: ActionKind,
        /// The approval step (one of `depends_on`) that must be approved before the action runs.
        approval: Option<String>,
        /// The approval may be bypassed by an emergency override with a written reason, which
        /// is recorded and flagged in the audit log and the review.
        emergency_override: bool,
    },
    /// A live view; `auto_complete` steps finish themselves when the query's completion
    /// condition holds.
    Query {
        query: QueryKind,
        auto_complete: bool,
    },
    /// A second security user approves what someone else requested.
    Approval,
    /// The post-incident write-up; always the last step.
    Review,
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Checklist { .. } => "checklist",
            StepKind::Action { .. } => "action",
            StepKind::Query { .. } => "query",
            StepKind::Approval => "approval",
            StepKind::Review => "review",
        }
    }
}

/// What an action step makes Trustwatch do. A closed set: the console has code for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Mark the incident's key compromised since T (signatures recorded before T stay valid),
    /// or revoke it outright when T cannot be bounded; the commander chooses. Publishes a new
    /// trust-bundle version in the same transaction, as every key change does.
    ContainKey,
    /// Revoke a key: no signature by it is accepted any more. Publishes a new bundle.
    RevokeKey,
    /// Move a key to `retiring`: existing signatures stay valid, new signing should stop.
    RetireKey,
    /// Publish a new trust-bundle version of the current trust data (for example to replace a
    /// bundle that clusters report expired).
    PublishTrustBundle,
    /// Tell the configured webhooks (chat, paging, other teams' automation) what happened.
    NotifyWebhooks,
    /// Import the new public key that takes over from the incident's key.
    RegisterReplacementKey,
    /// Change the policies that trusted the incident's key (or, in a rejection storm, their
    /// mode), shown as a diff before it is applied.
    UpdatePolicies,
}

impl ActionKind {
    pub const ALL: [ActionKind; 7] = [
        ActionKind::ContainKey,
        ActionKind::RevokeKey,
        ActionKind::RetireKey,
        ActionKind::PublishTrustBundle,
        ActionKind::NotifyWebhooks,
        ActionKind::RegisterReplacementKey,
        ActionKind::UpdatePolicies,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::ContainKey => "contain_key",
            ActionKind::RevokeKey => "revoke_key",
            ActionKind::RetireKey => "retire_key",
            ActionKind::PublishTrustBundle => "publish_trust_bundle",
            ActionKind::NotifyWebhooks => "notify_webhooks",
            ActionKind::RegisterReplacementKey => "register_replacement_key",
            ActionKind::UpdatePolicies => "update_policies",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an action: expected {}", list(Self::ALL)))
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which live view a query step shows. A closed set: the console has a query for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// Signatures by the incident's key at or after T, by repository and signer identity, and
    /// the workloads admitted on those digests per cluster and namespace.
    BlastRadius,
    /// Per cluster, the bundle version it last acknowledged and when; silent clusters.
    Propagation,
    /// Re-signed images verified, admissions that relied on the key since containment, and
    /// rejections of affected images over time.
    Recovery,
    /// Where the incident's key is still relied on: policies and key groups that trust it,
    /// running workloads whose admission rested on its signatures.
    KeyUsage,
    /// Everything one signer identity (pipeline, job, host) signed, with which keys, since T.
    SignerIdentityActivity,
    /// Refusals by cluster, reason and registry over the last hours against the baseline.
    RejectionRates,
}

impl QueryKind {
    pub const ALL: [QueryKind; 6] = [
        QueryKind::BlastRadius,
        QueryKind::Propagation,
        QueryKind::Recovery,
        QueryKind::KeyUsage,
        QueryKind::SignerIdentityActivity,
        QueryKind::RejectionRates,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::BlastRadius => "blast_radius",
            QueryKind::Propagation => "propagation",
            QueryKind::Recovery => "recovery",
            QueryKind::KeyUsage => "key_usage",
            QueryKind::SignerIdentityActivity => "signer_identity_activity",
            QueryKind::RejectionRates => "rejection_rates",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a query: expected {}", list(Self::ALL)))
    }

    /// The condition under which a step showing this query may finish by itself. Only
    /// conditions a machine can decide without judgement qualify.
    pub fn completion_condition(self) -> Option<&'static str> {
        match self {
            QueryKind::Propagation => {
                Some("every active cluster has acknowledged the newest trust-bundle version")
            }
            _ => None,
        }
    }
}

impl fmt::Display for QueryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
