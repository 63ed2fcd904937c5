//! Rule 7: a cluster still running an older trust bundle than the newest published.
//!
//! A revocation reaches a cluster only with the bundle that carries it. A cluster is given the
//! same grace as for reporting (`stale_after`) from the moment the first newer version was
//! published; after that, the newest bundle has not reached it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::{at, human_duration, AlertRule, Finding, Subject};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLag {
    pub cluster: String,
    /// The version the cluster last said it runs.
    pub running: i64,
    /// The newest published version.
    pub newest: i64,
    /// When the first version after `running` was published.
    pub next_issued_at: DateTime<Utc>,
}

pub fn bundle_behind(l: &BundleLag, grace: TimeDelta, now: DateTime<Utc>) -> Option<Finding> {
    if l.running >= l.newest {
        return None;
    }
    let behind_for = now - l.next_issued_at;
    if behind_for < grace {
        return None;
    }
    let versions = l.newest - l.running;
    Some(Finding {
        rule: AlertRule::TrustBundleBehind,
        subject: Subject::Cluster(l.cluster.clone()),
        scope: format!("running {}", l.running),
        continues_within: None,
        summary: format!(
            "Cluster {} runs trust bundle version {}, {versions} version{} behind the newest ({}); version {} was published {} ago ({}), past the {} a cluster has to pick it up.",
            l.cluster,
            l.running,
            if versions == 1 { "" } else { "s" },
            l.newest,
            l.running + 1,
            human_duration(behind_for),
            at(l.next_issued_at),
            human_duration(grace),
        ),
        facts: json!({
            "cluster": l.cluster,
            "running_version": l.running,
            "newest_version": l.newest,
            "versions_behind": versions,
            "next_version_published_at": l.next_issued_at,
            "behind_seconds": behind_for.num_seconds(),
            "grace_seconds": grace.num_seconds(),
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

    fn lag(running: i64, newest: i64, published_ago: TimeDelta) -> BundleLag {
        BundleLag {
            cluster: "prod-eu-1".into(),
            running,
            newest,
            next_issued_at: now() - published_ago,
        }
    }

    #[test]
    fn the_newest_version_does_not_fire() {
        assert!(bundle_behind(
            &lag(43, 43, TimeDelta::days(1)),
            TimeDelta::minutes(15),
            now()
        )
        .is_none());
    }

    #[test]
    fn a_fresh_publication_gets_its_grace() {
        let grace = TimeDelta::minutes(15);
        assert!(bundle_behind(&lag(42, 43, grace - TimeDelta::seconds(1)), grace, now()).is_none());
        assert!(bundle_behind(&lag(42, 43, grace), grace, now()).is_some());
    }

    #[test]
    fn a_lagging_cluster_fires_with_the_versions() {
        let f = bundle_behind(
            &lag(41, 43, TimeDelta::hours(2)),
            TimeDelta::minutes(15),
            now(),
        )
        .expect("fires");
        assert_eq!(f.scope, "running 41");
        assert_eq!(f.facts["versions_behind"], 2);
        assert!(
            f.summary
                .contains("runs trust bundle version 41, 2 versions behind the newest (43)"),
            "{}",
            f.summary
        );
        assert!(
            f.summary.contains("version 42 was published 2 h ago"),
            "{}",
            f.summary
        );
    }
}
