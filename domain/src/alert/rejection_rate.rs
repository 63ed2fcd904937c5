//! Rule 5: a cluster refusing far more of its admissions than it usually does.
//!
//! A jump in refusals is how a revocation that hit something in use, a broken signing pipeline or
//! an unsigned image pushed past review shows up in a cluster. Refusals are `rejected` and
//! `warned` outcomes (a cluster in warn mode warns where it would refuse). A minimum volume keeps
//! one refusal out of two admissions from firing.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::{at, AlertRule, Finding, Subject};

/// Admissions the recent window needs before its rate means anything.
pub const MIN_ADMISSIONS: i64 = 20;
/// Refusals the recent window needs.
pub const MIN_REFUSALS: i64 = 5;
/// The recent rate must be at least this many times the baseline rate…
pub const FACTOR: i64 = 2;
/// …and at least this many percentage points above it.
pub const MIN_RISE_POINTS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub admissions: i64,
    pub refusals: i64,
}

impl Counts {
    fn percent(self) -> f64 {
        if self.admissions == 0 {
            0.0
        } else {
            100.0 * self.refusals as f64 / self.admissions as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOutcomes {
    pub cluster: String,
    /// Since `recent_from` (the last hour, in whole rollup hours).
    pub recent: Counts,
    pub recent_from: DateTime<Utc>,
    /// The days before `recent_from`.
    pub baseline: Counts,
    pub baseline_days: i64,
}

pub fn rejection_rate_jump(c: &ClusterOutcomes, now: DateTime<Utc>) -> Option<Finding> {
    let (r, b) = (c.recent, c.baseline);
    if r.admissions < MIN_ADMISSIONS || r.refusals < MIN_REFUSALS {
        return None;
    }
    // Rates compared as cross products, so thresholds hold exactly: rr/ra vs br/ba.
    let (recent, base) = if b.admissions == 0 {
        (r.refusals, 0)
    } else {
        (r.refusals * b.admissions, b.refusals * r.admissions)
    };
    let scale = if b.admissions == 0 {
        r.admissions
    } else {
        r.admissions * b.admissions
    };
    let fires = recent >= FACTOR * base && (recent - base) * 100 >= MIN_RISE_POINTS * scale;
    if !fires {
        return None;
    }
    let (rp, bp) = (r.percent(), b.percent());
    Some(Finding {
        rule: AlertRule::RejectionRateJump,
        subject: Subject::Cluster(c.cluster.clone()),
        scope: String::new(),
        continues_within: Some(TimeDelta::hours(2)),
        summary: format!(
            "Cluster {} refused {} of {} admissions ({rp:.1} %) since {}; over the previous {} days it refused {} of {} ({bp:.1} %).",
            c.cluster,
            r.refusals,
            r.admissions,
            at(c.recent_from),
            c.baseline_days,
            b.refusals,
            b.admissions,
        ),
        facts: json!({
            "cluster": c.cluster,
            "recent_from": c.recent_from,
            "recent_admissions": r.admissions,
            "recent_refusals": r.refusals,
            "recent_percent": (rp * 10.0).round() / 10.0,
            "baseline_days": c.baseline_days,
            "baseline_admissions": b.admissions,
            "baseline_refusals": b.refusals,
            "baseline_percent": (bp * 10.0).round() / 10.0,
        }),
        observed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 0).unwrap()
    }

    fn outcomes(recent: (i64, i64), baseline: (i64, i64)) -> ClusterOutcomes {
        ClusterOutcomes {
            cluster: "prod-eu-1".into(),
            recent: Counts {
                admissions: recent.0,
                refusals: recent.1,
            },
            recent_from: Utc.with_ymd_and_hms(2026, 11, 25, 11, 0, 0).unwrap(),
            baseline: Counts {
                admissions: baseline.0,
                refusals: baseline.1,
            },
            baseline_days: 7,
        }
    }

    #[test]
    fn the_usual_rate_does_not_fire() {
        assert!(rejection_rate_jump(&outcomes((100, 12), (7000, 840)), now()).is_none());
    }

    #[test]
    fn a_jump_fires_with_both_rates() {
        let f = rejection_rate_jump(&outcomes((100, 45), (7000, 840)), now()).expect("fires");
        assert_eq!(f.facts["recent_percent"], 45.0);
        assert_eq!(f.facts["baseline_percent"], 12.0);
        assert!(
            f.summary.contains("refused 45 of 100 admissions (45.0 %)"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("840 of 7000 (12.0 %)"), "{}", f.summary);
    }

    #[test]
    fn low_volume_never_fires() {
        // 1 of 2 is 50 %, but two admissions say nothing.
        assert!(rejection_rate_jump(&outcomes((2, 1), (7000, 70)), now()).is_none());
        assert!(
            rejection_rate_jump(&outcomes((MIN_ADMISSIONS - 1, 19), (7000, 70)), now()).is_none()
        );
        assert!(rejection_rate_jump(&outcomes((MIN_ADMISSIONS, 19), (7000, 70)), now()).is_some());
        assert!(rejection_rate_jump(&outcomes((50, MIN_REFUSALS - 1), (7000, 0)), now()).is_none());
        assert!(rejection_rate_jump(&outcomes((50, MIN_REFUSALS), (7000, 0)), now()).is_some());
    }

    #[test]
    fn twice_the_baseline_is_the_edge() {
        // Baseline 20 %: 40 % is exactly twice, and 20 points above.
        assert!(rejection_rate_jump(&outcomes((100, 40), (1000, 200)), now()).is_some());
        assert!(rejection_rate_jump(&outcomes((100, 39), (1000, 200)), now()).is_none());
    }

    #[test]
    fn ten_points_is_the_edge_for_low_baselines() {
        // Baseline 1 %: 11 % is 10 points above, 10 % only 9.
        assert!(rejection_rate_jump(&outcomes((100, 11), (1000, 10)), now()).is_some());
        assert!(rejection_rate_jump(&outcomes((100, 10), (1000, 10)), now()).is_none());
    }

    #[test]
    fn a_cluster_without_history_fires_at_ten_percent() {
        assert!(rejection_rate_jump(&outcomes((100, 10), (0, 0)), now()).is_some());
        assert!(rejection_rate_jump(&outcomes((100, 9), (0, 0)), now()).is_none());
    }
}
