//! The Alerts page's views.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: String,
    pub rule: String,
    pub rule_title: String,
    pub severity: String,
    /// `key` or `cluster`.
    pub subject_kind: String,
    /// The key's fingerprint or the cluster's name.
    pub subject: String,
    pub subject_label: String,
    /// Why it fired, with the numbers.
    pub summary: String,
    /// The same numbers, one per line: name and value as text.
    pub facts: Vec<(String, String)>,
    pub first_seen: String,
    pub last_seen: String,
    pub last_seen_ago: String,
    pub acknowledged: Option<AcknowledgementView>,
    /// Where the alert was sent: "https://hooks.example.com: delivered", one per webhook.
    pub deliveries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcknowledgementView {
    pub by: String,
    pub at: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsView {
    pub open: Vec<AlertView>,
    pub acknowledged: Vec<AlertView>,
    /// The caller may acknowledge alerts (security or admin).
    pub can_acknowledge: bool,
    /// Every rule, as (name, title), for the filter.
    pub rules: Vec<(String, String)>,
}
