//! Rule 6: a cluster that has stopped reporting.
//!
//! A cluster that does not report cannot be shown to enforce anything: its admissions, its bundle
//! version and whether a revocation reached it are all unknown. The limit is the same
//! `stale_after` the Overview uses to mark a cluster stale.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::{at, human_duration, AlertRule, Finding, Subject};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHeartbeat {
    pub cluster: String,
    pub registered_at: DateTime<Utc>,
    pub last_report_at: Option<DateTime<Utc>>,
}

/// Fires when the last report (or, for a cluster that never reported, its registration) is more
/// than `stale_after` ago. One alert per silence: the scope is the last report's time.
pub fn silent_cluster(
    c: &ClusterHeartbeat,
    stale_after: TimeDelta,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let since = c.last_report_at.unwrap_or(c.registered_at);
    let silent = now - since;
    if silent <= stale_after {
        return None;
    }
    let (scope, summary) = match c.last_report_at {
        Some(t) => (
            format!("last report {}", t.to_rfc3339()),
            format!(
                "Cluster {} has not reported for {} (last report {}); its staleness limit is {}.",
                c.cluster,
                human_duration(silent),
                at(t),
                human_duration(stale_after)
            ),
        ),
        None => (
            "never reported".to_owned(),
            format!(
                "Cluster {} has never reported since it was registered {} ago ({}); its staleness limit is {}.",
                c.cluster,
                human_duration(silent),
                at(c.registered_at),
                human_duration(stale_after)
            ),
        ),
    };
    Some(Finding {
        rule: AlertRule::ClusterSilent,
        subject: Subject::Cluster(c.cluster.clone()),
        scope,
        continues_within: None,
        summary,
        facts: json!({
            "cluster": c.cluster,
            "last_report_at": c.last_report_at,
            "registered_at": c.registered_at,
            "silent_seconds": silent.num_seconds(),
            "stale_after_seconds": stale_after.num_seconds(),
        }),
        observed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn cluster(last: Option<DateTime<Utc>>) -> ClusterHeartbeat {
        ClusterHeartbeat {
            cluster: "edge-ap-1".into(),
            registered_at: now() - TimeDelta::days(30),
            last_report_at: last,
        }
    }

    #[test]
    fn a_reporting_cluster_does_not_fire() {
        let c = cluster(Some(now() - TimeDelta::minutes(3)));
        assert!(silent_cluster(&c, TimeDelta::minutes(15), now()).is_none());
    }

    #[test]
    fn the_limit_itself_is_not_yet_silent() {
        let c = cluster(Some(now() - TimeDelta::minutes(15)));
        assert!(silent_cluster(&c, TimeDelta::minutes(15), now()).is_none());
        let c = cluster(Some(now() - TimeDelta::minutes(15) - TimeDelta::seconds(1)));
        assert!(silent_cluster(&c, TimeDelta::minutes(15), now()).is_some());
    }

    #[test]
    fn a_silent_cluster_says_for_how_long() {
        let last = now() - TimeDelta::hours(7);
        let f = silent_cluster(&cluster(Some(last)), TimeDelta::minutes(15), now()).expect("fires");
        assert_eq!(f.facts["silent_seconds"], 7 * 3600);
        assert_eq!(f.scope, format!("last report {}", last.to_rfc3339()));
        assert!(
            f.summary.contains("has not reported for 7 h"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("limit is 15 min"), "{}", f.summary);
    }

    #[test]
    fn a_cluster_that_never_reported_fires_after_the_limit() {
        let f = silent_cluster(&cluster(None), TimeDelta::minutes(15), now()).expect("fires");
        assert_eq!(f.scope, "never reported");
        let mut fresh = cluster(None);
        fresh.registered_at = now() - TimeDelta::minutes(5);
        assert!(silent_cluster(&fresh, TimeDelta::minutes(15), now()).is_none());
    }
}
