//! Alerts: the conditions in signing and admission data a security team wants to hear about.
//!
//! Each rule is a pure function in its own file, over inputs `service::alerts` gathers from the
//! database and the `now` it passes; it returns [`Finding`]s that say why they fired, as a
//! sentence and as structured facts with the numbers. Rules never read a clock, so a test can
//! replay any stream of events at any time.
//!
//! A finding names its condition ([`Finding::dedupe_scope`]): the same condition seen again by the
//! next evaluation updates the alert it already raised instead of raising another.

pub mod new_signer;
pub mod off_hours;
pub mod rejection_rate;
pub mod revoked_key_use;
pub mod silent_cluster;
pub mod stale_bundle;
pub mod volume_spike;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ParseError;

/// The closed set of alert rules. The strings are stable: they are stored, filtered on, sent to
/// webhooks and used as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    NewSigner,
    OffHoursSigning,
    SigningVolumeSpike,
    RevokedKeyUse,
    RejectionRateJump,
    ClusterSilent,
    TrustBundleBehind,
}

impl AlertRule {
    pub const ALL: [AlertRule; 7] = [
        AlertRule::RevokedKeyUse,
        AlertRule::NewSigner,
        AlertRule::OffHoursSigning,
        AlertRule::SigningVolumeSpike,
        AlertRule::RejectionRateJump,
        AlertRule::ClusterSilent,
        AlertRule::TrustBundleBehind,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertRule::NewSigner => "new_signer",
            AlertRule::OffHoursSigning => "off_hours_signing",
            AlertRule::SigningVolumeSpike => "signing_volume_spike",
            AlertRule::RevokedKeyUse => "revoked_key_use",
            AlertRule::RejectionRateJump => "rejection_rate_jump",
            AlertRule::ClusterSilent => "cluster_silent",
            AlertRule::TrustBundleBehind => "trust_bundle_behind",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ParseError::new(format!("{s:?} is not an alert rule")))
    }

    /// The rule's name for people.
    pub fn title(self) -> &'static str {
        match self {
            AlertRule::NewSigner => "New signer for a key",
            AlertRule::OffHoursSigning => "Signing outside the key's usual hours",
            AlertRule::SigningVolumeSpike => "Signing volume far above the key's baseline",
            AlertRule::RevokedKeyUse => "Revoked or compromised key used",
            AlertRule::RejectionRateJump => "Cluster rejection rate jumped",
            AlertRule::ClusterSilent => "Cluster silent past its staleness limit",
            AlertRule::TrustBundleBehind => "Cluster on an old trust bundle",
        }
    }

    /// A key that should no longer sign anything signing something is the one alert that means
    /// an attack is under way; the others are anomalies worth a look.
    pub fn severity(self) -> Severity {
        match self {
            AlertRule::RevokedKeyUse => Severity::Critical,
            AlertRule::NewSigner | AlertRule::SigningVolumeSpike | AlertRule::TrustBundleBehind => {
                Severity::High
            }
            AlertRule::OffHoursSigning
            | AlertRule::RejectionRateJump
            | AlertRule::ClusterSilent => Severity::Medium,
        }
    }
}

impl std::fmt::Display for AlertRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
        }
    }
}

/// A signing key as alerts name it. `name` is `None` for a fingerprint no key is registered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub fingerprint: String,
    pub name: Option<String>,
}

impl KeyRef {
    /// The key's name, or the start of its fingerprint when it has none.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => {
                let hex = self
                    .fingerprint
                    .strip_prefix("sha256:")
                    .unwrap_or(&self.fingerprint);
                format!("sha256:{}", &hex[..hex.len().min(12)])
            }
        }
    }
}

/// What an alert is about: a key (by fingerprint) or a cluster (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Key(KeyRef),
    Cluster(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Key(_) => "key",
            Subject::Cluster(_) => "cluster",
        }
    }

    /// The stable identifier: the key's fingerprint or the cluster's name.
    pub fn id(&self) -> &str {
        match self {
            Subject::Key(k) => &k.fingerprint,
            Subject::Cluster(c) => c,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Subject::Key(k) => k.label(),
            Subject::Cluster(c) => c.clone(),
        }
    }
}

/// One rule firing: why, with the numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: AlertRule,
    pub subject: Subject,
    /// What tells this condition apart from others of the same rule and subject (the new
    /// identity, the clock hour, the bundle version the cluster is stuck on); empty when the
    /// rule and subject alone do.
    pub scope: String,
    /// For conditions measured over a sliding window (a volume, a rate): seen again within this
    /// long after it was last seen, it is the same episode, and the same alert.
    pub continues_within: Option<TimeDelta>,
    /// One sentence for people, with the numbers.
    pub summary: String,
    /// The same numbers, for machines (a JSON object).
    pub facts: serde_json::Value,
    /// When the condition was observed: the event that showed it, or `now` for a measurement.
    pub observed_at: DateTime<Utc>,
}

impl Finding {
    /// Rule, subject and scope: equal for two findings of the same condition.
    pub fn dedupe_scope(&self) -> String {
        format!(
            "{}|{}:{}|{}",
            self.rule,
            self.subject.kind(),
            self.subject.id(),
            self.scope
        )
    }
}

/// A duration as people say it in an alert: "45 s", "12 min", "3 h 5 min", "4 days 2 h".
pub fn human_duration(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// A time as alerts print it.
pub(crate) fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_through_their_names() {
        for rule in AlertRule::ALL {
            assert_eq!(AlertRule::parse(rule.as_str()), Ok(rule));
        }
        assert!(AlertRule::parse("everything").is_err());
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(TimeDelta::seconds(45)), "45 s");
        assert_eq!(human_duration(TimeDelta::minutes(12)), "12 min");
        assert_eq!(human_duration(TimeDelta::minutes(185)), "3 h 5 min");
        assert_eq!(human_duration(TimeDelta::hours(2)), "2 h");
        assert_eq!(human_duration(TimeDelta::hours(26)), "1 day 2 h");
        assert_eq!(human_duration(TimeDelta::days(4)), "4 days");
        assert_eq!(human_duration(TimeDelta::seconds(-5)), "0 s");
    }

    #[test]
    fn the_dedupe_scope_names_rule_subject_and_scope() {
        let f = Finding {
            rule: AlertRule::ClusterSilent,
            subject: Subject::Cluster("prod-eu-1".into()),
            scope: "never".into(),
            continues_within: None,
            summary: String::new(),
            facts: serde_json::json!({}),
            observed_at: DateTime::UNIX_EPOCH,
        };
        assert_eq!(f.dedupe_scope(), "cluster_silent|cluster:prod-eu-1|never");
    }

    #[test]
    fn unnamed_keys_show_the_start_of_their_fingerprint() {
        let k = KeyRef {
            fingerprint: format!("sha256:{}", "ab".repeat(32)),
            name: None,
        };
        assert_eq!(k.label(), "sha256:abababababab");
    }
}
