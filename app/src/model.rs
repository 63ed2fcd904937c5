//! What server functions send to the browser: plain, serializable views of service data. Times
//! arrive already formatted, so server and browser render the same text (no clock in render).

use serde::{Deserialize, Serialize};

mod alerts;
pub use alerts::*;
mod rejection_list;
pub use rejection_list::*;
mod trends;
pub use trends::*;
mod key_image;
pub use key_image::*;
mod incidents;
pub use incidents::*;
mod what_if;
pub use what_if::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub role: String,
    pub must_change_password: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCountsView {
    pub admitted: i64,
    pub rejected: i64,
    pub warned: i64,
    pub error: i64,
}

impl OutcomeCountsView {
    pub fn total(&self) -> i64 {
        self.admitted + self.rejected + self.warned + self.error
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatusView {
    pub name: String,
    pub environment: String,
    pub engine: String,
    pub enforcement_mode: String,
    pub bundle_version: Option<i64>,
    pub last_report: String,
    pub last_report_ago: String,
    pub stale: bool,
    /// Runs an older trust bundle than the newest published one (or has not said which).
    pub bundle_behind: bool,
    pub counts: OutcomeCountsView,
    /// Its most frequent refusal reasons in the period, with counts.
    pub top_reasons: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenIncidentView {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub commander: String,
    pub opened_ago: String,
    pub drill: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewView {
    pub since: String,
    pub totals: OutcomeCountsView,
    pub clusters: Vec<ClusterStatusView>,
    pub top_reasons: Vec<(String, String, i64)>,
    pub keys_by_status: Vec<(String, i64)>,
    pub newest_bundle: Option<i64>,
    pub stale_after: String,
    pub open_incidents: Vec<OpenIncidentView>,
    /// Alerts nobody has acknowledged yet.
    pub open_alerts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub source_ip: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChainView {
    Verified { entries: i64 },
    Broken { seq: i64, explanation: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    pub chain: ChainView,
    /// Pass as `before` to get the next, older page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub last_login: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub cluster: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub last_used: String,
    pub revoked: bool,
    pub may_register_clusters: bool,
}

/// A token just created: the only time its value leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub name: String,
    pub value: String,
}

/// A signing key as the Keys page shows it (public half only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    pub name: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub owner_team: String,
    pub custody: String,
    pub status: String,
    pub valid_from: String,
    pub valid_until: String,
    /// "since …" for compromised keys, "at …" for revoked ones.
    pub status_detail: String,
    pub rotation: String,
    /// The key is older than its rotation period.
    pub rotation_overdue: bool,
    pub public_key_pem: String,
    /// When the key last signed, by Trustwatch's recorded time ("never" when it has not).
    pub last_used: String,
    pub last_used_ago: String,
    /// The policies that accept its signatures, directly or through a key group.
    pub trusted_by: Vec<TrustView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysView {
    pub keys: Vec<KeyView>,
    pub bundle_version: Option<u64>,
    /// The caller may import keys and change their status (security or admin).
    pub can_change: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    pub name: String,
    pub mode: String,
    pub version: i32,
    pub updated: String,
    pub updated_by: String,
    pub yaml: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoliciesView {
    pub policies: Vec<PolicyView>,
    /// Key groups as YAML documents, for reference beside the editor.
    pub key_groups_yaml: String,
    pub bundle_version: Option<u64>,
    pub can_change: bool,
}

/// What applying (or a dry run of) an edited document does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyChangeView {
    pub kind: String,
    pub name: String,
    pub change: String,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictChangeView {
    pub image: String,
    pub cluster: String,
    pub namespace: String,
    pub admissions: i64,
    pub now: String,
    pub after: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyImpactView {
    pub window_days: i64,
    pub placements: usize,
    pub admissions: i64,
    pub truncated: bool,
    pub refused_now: usize,
    pub refused_after: usize,
    pub warned_now: usize,
    pub warned_after: usize,
    pub changes: Vec<VerdictChangeView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyApplyView {
    pub dry_run: bool,
    pub changes: Vec<PolicyChangeView>,
    pub bundle_version: Option<u64>,
    /// Only for dry runs.
    pub impact: Option<PolicyImpactView>,
}

/// One check of a decision, as the rejection page draws the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckView {
    pub subject: String,
    pub passed: bool,
    pub reason: Option<String>,
    pub detail: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub source: Option<String>,
    pub children: Vec<CheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedRejectionView {
    pub id: String,
    pub cluster: String,
    pub namespace: String,
    pub outcome: String,
    pub reason: String,
    pub observed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionView {
    pub id: String,
    pub cluster: String,
    pub namespace: String,
    pub workload: String,
    pub image: String,
    pub digest: Option<String>,
    pub outcome: String,
    pub reason: String,
    /// The reason code's sentence for people.
    pub reason_summary: String,
    pub engine: String,
    pub policy: Option<String>,
    /// Trustwatch's own sentence, or the other engine's raw text.
    pub message: Option<String>,
    pub checks: Vec<CheckView>,
    /// Checks another engine sent in a shape of its own, shown as they came.
    pub raw_checks: Option<String>,
    pub keys: Vec<String>,
    pub observed: String,
    pub received: String,
    pub related: Vec<RelatedRejectionView>,
    /// The fix the verifier proposed when it refused, one command or step per entry.
    pub remediation: Vec<String>,
    /// The admission judged again now, against the current bundle.
    pub now: Option<AdviceView>,
}

/// A recorded refusal judged again against the current trust bundle and recorded signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdviceView {
    pub bundle_version: u64,
    pub admitted_now: bool,
    pub summary: String,
    pub remediation: Vec<String>,
}

#[cfg(feature = "ssr")]
pub mod time {
    //! Formatting times on the server, where the clock is.

    use chrono::{DateTime, Utc};

    pub fn absolute(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }

    pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let d = now - t;
        if d.num_seconds() < 60 {
            "just now".into()
        } else if d.num_minutes() < 60 {
            format!("{} min ago", d.num_minutes())
        } else if d.num_hours() < 48 {
            format!("{} h ago", d.num_hours())
        } else {
            format!("{} days ago", d.num_days())
        }
    }

    pub fn maybe_ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
        t.map(|t| ago(t, now)).unwrap_or_else(|| "never".into())
    }
}
