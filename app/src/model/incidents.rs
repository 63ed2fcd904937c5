//! The incident console's views: the list, and one incident with its steps and live queries.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentsView {
    pub incidents: Vec<IncidentSummaryView>,
    /// Playbooks that can be started: id and title.
    pub playbooks: Vec<(String, String)>,
    /// Keys an incident can be about: name and status.
    pub keys: Vec<(String, String)>,
    /// Who can be incident commander: enabled security and admin users.
    pub commanders: Vec<String>,
    pub me: String,
    pub can_declare: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummaryView {
    pub id: String,
    pub title: String,
    pub playbook: String,
    pub severity: String,
    pub status: String,
    pub drill: bool,
    pub commander: String,
    pub key: Option<String>,
    pub opened: String,
    /// "3 h", "2 d": how long it has been open (or was, when closed).
    pub age: String,
    pub current_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: String,
    pub title: String,
    pub playbook: String,
    pub playbook_version: String,
    pub severity: String,
    pub status: String,
    pub drill: bool,
    pub commander: String,
    pub opened_by: String,
    pub opened: String,
    /// Time since declaration, as of this read (the page's clock).
    pub elapsed: String,
    pub closed: Option<String>,
    pub key: Option<KeyRefView>,
    pub replacement_key: Option<KeyRefView>,
    /// T, the suspected compromise time.
    pub compromised_since: Option<String>,
    /// Time to contain, to propagate, to recover, from declaration; "—" before.
    pub figures: Vec<(String, String)>,
    pub steps: Vec<StepView>,
    pub comments: Vec<CommentView>,
    /// Security and admin users work incidents; others watch.
    pub can_act: bool,
    /// Only security users approve.
    pub can_approve: bool,
    pub me: String,
    /// Why the incident cannot be closed yet; `None` when it can.
    pub close_blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRefView {
    pub name: String,
    pub fingerprint: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub id: String,
    pub title: String,
    /// checklist, action, query, approval, review.
    pub kind: String,
    pub instructions: String,
    pub required: bool,
    pub status: String,
    /// Every dependency finished and the step itself not.
    pub ready: bool,
    /// Titles of the unfinished steps this one waits for.
    pub waiting_for: Vec<String>,
    /// Who did what, one line each: "requested by …", "approved by …", "done by … at …".
    pub record: Vec<String>,
    pub override_reason: Option<String>,
    /// Checklist items and whether ticked.
    pub items: Vec<(String, bool)>,
    /// The action (contain_key, …) of an action step.
    pub action: Option<String>,
    pub query: Option<String>,
    pub auto_complete: bool,
    /// An action whose approval may be bypassed in an emergency (and has not been given yet).
    pub override_possible: bool,
    /// An action step's approval step, and whether it is granted (approved or overridden).
    pub approval: Option<(String, bool)>,
    /// What the completed step recorded, as facts.
    pub result: Vec<(String, String)>,
    /// Changes when the step changes (its state, readiness or record): the key that keeps a
    /// step's form (and what is typed in it) across refreshes that did not touch it. The live
    /// view is not part of it: it is redrawn on every refresh.
    pub revision: String,
    pub live: Option<LiveView>,
    /// The review's write-up, once written.
    pub review_text: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LiveView {
    BlastRadius(BlastRadiusView),
    Propagation(PropagationView),
    Recovery(RecoveryView),
    /// The policy documents the update-policies step would change, as diffs.
    PolicyDiff(Vec<PolicyDiffView>),
    /// The digests to re-sign with the replacement key, with the commands.
    Resign(ResignView),
    /// The review: figures, timeline, overrides.
    Review(ReviewView),
    /// A query this console shows as a link rather than inline.
    Link {
        href: String,
        label: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlastRadiusView {
    pub since: String,
    pub signatures: i64,
    pub digests: i64,
    pub anomalous_groups: usize,
    pub groups: Vec<SignatureGroupView>,
    pub workloads: Vec<AffectedWorkloadView>,
    pub probably_running: usize,
    pub truncated: bool,
    pub csv_href: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureGroupView {
    pub repository: String,
    pub signer_identity: String,
    pub signer_hosts: String,
    pub signatures: i64,
    pub digests: i64,
    pub first_signed: String,
    pub last_signed: String,
    /// Why it looks anomalous; empty when it does not.
    pub anomalies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedWorkloadView {
    pub cluster: String,
    pub namespace: String,
    pub workload: String,
    pub image: String,
    pub digest: String,
    pub admissions: i64,
    pub last_admitted: String,
    pub probably_running: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationView {
    pub target_version: Option<i64>,
    pub acknowledged: usize,
    pub behind: usize,
    pub silent: usize,
    pub other_engine: usize,
    pub clusters: Vec<ClusterPropagationView>,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterPropagationView {
    pub name: String,
    pub environment: String,
    pub engine: String,
    /// acknowledged, behind, silent, other_engine.
    pub state: String,
    pub bundle_version: Option<i64>,
    pub acknowledged_at: String,
    pub last_report: String,
    /// For a silent cluster: it trusts its old bundle until this time.
    pub bundle_expires: Option<String>,
    /// For another engine: what to apply, and until when its cache may hold the old answer.
    pub export: Option<PolicyExportView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyExportView {
    pub format: String,
    pub yaml: String,
    pub cache_note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryView {
    pub digests: usize,
    pub resigned: usize,
    pub relying_admissions: i64,
    pub relying: Vec<(String, String, String)>,
    /// Hour and refusals of affected digests since containment.
    pub rejections_per_hour: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDiffView {
    pub kind: String,
    pub name: String,
    pub change: String,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResignView {
    pub key: String,
    /// Repository@digest, whether already re-signed, and the two commands.
    pub digests: Vec<ResignDigestView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResignDigestView {
    pub reference: String,
    pub resigned: bool,
    pub trustwatch_command: String,
    pub cosign_command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    pub figures: Vec<(String, String)>,
    /// When, who, what, flagged (an emergency override).
    pub timeline: Vec<(String, String, String, bool)>,
    pub overrides: Vec<(String, String)>,
    pub unticked: Vec<(String, String)>,
    pub markdown_href: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: String,
    pub step: Option<String>,
    pub author: String,
    pub at: String,
    pub body: String,
}
