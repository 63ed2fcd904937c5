//! Rule 3: a key signing far more in the last hour than it ever does.
//!
//! A stolen key is often used in bulk (re-signing a registry, signing a batch of backdoored
//! images). The baseline is the key's own: its mean per hour over the previous days, and its
//! busiest hour in them, so a key that releases in batches does not fire on its usual batch.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::{AlertRule, Finding, KeyRef, Subject};

/// Fewer signatures than this in an hour are never a spike.
pub const MIN_SIGNATURES: i64 = 10;
/// The last hour must hold at least this many times the baseline's mean per hour.
pub const FACTOR: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningVolume {
    pub key: KeyRef,
    /// Signatures in the hour before `now`.
    pub last_hour: i64,
    /// Signatures in each clock hour of the baseline that had any (empty hours may be left out).
    pub baseline_hourly: Vec<i64>,
    /// How many hours the baseline covers (336 for 14 days).
    pub baseline_hours: i64,
}

pub fn volume_spike(v: &SigningVolume, now: DateTime<Utc>) -> Option<Finding> {
    let total: i64 = v.baseline_hourly.iter().sum();
    let busiest = v.baseline_hourly.iter().copied().max().unwrap_or(0);
    let hours = v.baseline_hours.max(1);
    let fires = v.last_hour >= MIN_SIGNATURES
        && v.last_hour * hours >= FACTOR * total
        && v.last_hour > busiest;
    if !fires {
        return None;
    }
    let mean = total as f64 / hours as f64;
    let days = hours / 24;
    Some(Finding {
        rule: AlertRule::SigningVolumeSpike,
        subject: Subject::Key(v.key.clone()),
        scope: String::new(),
        continues_within: Some(TimeDelta::hours(1)),
        summary: format!(
            "Key {} made {} signatures in the last hour; over the previous {days} days it averaged {mean:.2} an hour ({total} in all) and its busiest hour had {busiest}.",
            v.key.label(),
            v.last_hour,
        ),
        facts: json!({
            "key_fingerprint": v.key.fingerprint,
            "key_name": v.key.name,
            "last_hour": v.last_hour,
            "baseline_signatures": total,
            "baseline_hours": hours,
            "baseline_mean_per_hour": (mean * 100.0).round() / 100.0,
            "baseline_busiest_hour": busiest,
            "factor": FACTOR,
        }),
        observed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn volume(last_hour: i64, baseline_hourly: Vec<i64>) -> SigningVolume {
        SigningVolume {
            key: KeyRef {
                fingerprint: format!("sha256:{}", "c".repeat(64)),
                name: Some("ci-release".into()),
            },
            last_hour,
            baseline_hourly,
            baseline_hours: 336,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_usual_hour_does_not_fire() {
        // 8 releases a day, 2 an hour at most.
        let baseline = vec![2; 56];
        assert!(volume_spike(&volume(2, baseline), now()).is_none());
    }

    #[test]
    fn a_burst_fires_with_the_numbers() {
        let baseline = vec![2; 56]; // 112 in 336 hours: 0.33 an hour
        let f = volume_spike(&volume(40, baseline), now()).expect("fires");
        assert_eq!(f.facts["last_hour"], 40);
        assert_eq!(f.facts["baseline_signatures"], 112);
        assert_eq!(f.facts["baseline_busiest_hour"], 2);
        assert_eq!(f.facts["baseline_mean_per_hour"], 0.33);
        assert!(
            f.summary.contains("40 signatures in the last hour"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("averaged 0.33 an hour"), "{}", f.summary);
        assert_eq!(f.continues_within, Some(TimeDelta::hours(1)));
    }

    #[test]
    fn the_minimum_count_is_inclusive() {
        assert!(volume_spike(&volume(MIN_SIGNATURES - 1, vec![]), now()).is_none());
        assert!(volume_spike(&volume(MIN_SIGNATURES, vec![]), now()).is_some());
    }

    #[test]
    fn it_must_be_five_times_the_mean() {
        // 672 in 336 hours: a mean of 2; 10 is exactly five times that.
        let mut baseline = vec![2; 336];
        assert!(volume_spike(&volume(10, baseline.clone()), now()).is_some());
        baseline[0] = 3; // 673: 10 is now just under five times the mean
        assert!(volume_spike(&volume(10, baseline), now()).is_none());
    }

    #[test]
    fn a_usual_batch_is_not_a_spike() {
        // One batch of 30 a week: 30 is not above the busiest hour.
        let baseline = vec![30, 30];
        assert!(volume_spike(&volume(30, baseline.clone()), now()).is_none());
        assert!(volume_spike(&volume(31, baseline), now()).is_some());
    }
}
