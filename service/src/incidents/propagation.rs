//! Propagation: has every cluster picked up the trust bundle containment published?
//!
//! Each cluster is in one of four states against the containing version: it acknowledged it (its
//! reported bundle version is at least that), it is behind (reporting, on an older version), it is
//! silent (no report within the active window: it may be cut off and keep trusting its old
//! bundle until that bundle expires), or it runs another engine that does not read Trustwatch
//! bundles and needs the exported policy applied by its operators. The step completes itself when
//! every active cluster acknowledged; a cluster of another engine keeps it open until a person
//! completes it, because nothing Trustwatch receives can tell that the export was applied.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgConnection;

use super::IncidentRow;
use crate::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterState {
    Acknowledged,
    Behind,
    Silent,
    OtherEngine,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledged => "acknowledged",
            Self::Behind => "behind",
            Self::Silent => "silent",
            Self::OtherEngine => "other_engine",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ClusterRow {
    pub name: String,
    pub environment: String,
    pub engine: Option<String>,
    pub bundle_version: Option<i64>,
    pub bundle_acknowledged_at: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
    /// When the bundle the cluster runs expires: a silent cluster trusts it until then.
    pub bundle_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterPropagation {
    pub cluster: ClusterRow,
    pub state: ClusterState,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropagationView {
    /// The version containment published; `None` before containment.
    pub target_version: Option<i64>,
    pub contained_at: Option<DateTime<Utc>>,
    pub clusters: Vec<ClusterPropagation>,
}

impl PropagationView {
    pub fn count(&self, state: ClusterState) -> usize {
        self.clusters.iter().filter(|c| c.state == state).count()
    }

    /// When propagation completed: the last active cluster's acknowledgement, once every active
    /// cluster has acknowledged; `None` while any is behind or runs another engine, before
    /// containment, or when no cluster is active at all (nothing proves the bundle arrived).
    pub fn complete_at(&self) -> Option<DateTime<Utc>> {
        self.target_version?;
        let active: Vec<&ClusterPropagation> = self
            .clusters
            .iter()
            .filter(|c| c.state != ClusterState::Silent)
            .collect();
        if active.is_empty() || active.iter().any(|c| c.state != ClusterState::Acknowledged) {
            return None;
        }
        let last = active
            .iter()
            .filter_map(|c| c.cluster.bundle_acknowledged_at)
            .max()?;
        // A cluster that acknowledged the version before containment was recorded (possible in
        // a drill, where no new version is published) completes it at containment.
        Some(match self.contained_at {
            Some(c) if c > last => c,
            _ => last,
        })
    }
}

/// Reads the propagation state of every cluster for the incident. `active_within`: a cluster
/// that has not reported for longer is silent.
pub async fn view(
    conn: &mut PgConnection,
    incident: &IncidentRow,
    active_within: Duration,
    now: DateTime<Utc>,
) -> Result<PropagationView, ServiceError> {
    let rows: Vec<ClusterRow> = sqlx::query_as(
        "SELECT c.name, c.environment, c.engine, c.bundle_version, c.bundle_acknowledged_at,
                c.last_report_at, b.expires_at AS bundle_expires_at
           FROM clusters c LEFT JOIN trust_bundles b ON b.version = c.bundle_version
          ORDER BY c.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let target = incident.contain_bundle_version;
    let clusters = rows
        .into_iter()
        .map(|c| {
            let state = state_of(&c, target, active_within, now);
            ClusterPropagation { cluster: c, state }
        })
        .collect();
    Ok(PropagationView {
        target_version: target,
        contained_at: incident.contained_at,
        clusters,
    })
}

fn state_of(
    c: &ClusterRow,
    target: Option<i64>,
    active_within: Duration,
    now: DateTime<Utc>,
) -> ClusterState {
    let silent = c.last_report_at.is_none_or(|at| now - at > active_within);
    if silent {
        return ClusterState::Silent;
    }
    match (c.bundle_version, target) {
        (Some(v), Some(t)) if v >= t => ClusterState::Acknowledged,
        (Some(_), _) => ClusterState::Behind,
        // Trustwatch's own verifier always reports its bundle version; a cluster that does not
        // runs an engine that never reads the bundle.
        (None, _) if c.engine.as_deref().is_none_or(|e| e == "trustwatch") => ClusterState::Behind,
        (None, _) => ClusterState::OtherEngine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn cluster(engine: &str, version: Option<i64>, acked: i64, reported: i64) -> ClusterRow {
        ClusterRow {
            name: format!("{engine}-{acked}"),
            environment: "prod".into(),
            engine: Some(engine.into()),
            bundle_version: version,
            bundle_acknowledged_at: version.map(|_| at(acked)),
            last_report_at: Some(at(reported)),
            bundle_expires_at: None,
        }
    }

    fn view_of(rows: Vec<ClusterRow>, now: i64) -> PropagationView {
        PropagationView {
            target_version: Some(7),
            contained_at: Some(at(0)),
            clusters: rows
                .into_iter()
                .map(|c| {
                    let state = state_of(&c, Some(7), Duration::minutes(15), at(now));
                    ClusterPropagation { cluster: c, state }
                })
                .collect(),
        }
    }

    #[test]
    fn completes_at_the_last_active_acknowledgement_and_ignores_silent_clusters() {
        let v = view_of(
            vec![
                cluster("trustwatch", Some(7), 3, 20),
                cluster("trustwatch", Some(8), 9, 20),
                cluster("trustwatch", Some(5), -100, -60),
            ],
            20,
        );
        assert_eq!(v.count(ClusterState::Silent), 1);
        assert_eq!(v.complete_at(), Some(at(9)));
    }

    #[test]
    fn a_cluster_behind_or_of_another_engine_keeps_it_open() {
        let behind = view_of(
            vec![
                cluster("trustwatch", Some(7), 3, 20),
                cluster("trustwatch", Some(6), 1, 20),
            ],
            20,
        );
        assert_eq!(behind.clusters[1].state, ClusterState::Behind);
        assert_eq!(behind.complete_at(), None);
        let other = view_of(
            vec![
                cluster("trustwatch", Some(7), 3, 20),
                cluster("kyverno", None, 0, 20),
            ],
            20,
        );
        assert_eq!(other.clusters[1].state, ClusterState::OtherEngine);
        assert_eq!(other.complete_at(), None);
    }

    #[test]
    fn nothing_completes_before_containment_or_without_an_active_cluster() {
        let mut v = view_of(vec![cluster("trustwatch", Some(7), 3, 20)], 20);
        v.target_version = None;
        assert_eq!(v.complete_at(), None);
        assert_eq!(
            view_of(vec![cluster("trustwatch", Some(7), 3, 20)], 500).complete_at(),
            None
        );
    }
}
