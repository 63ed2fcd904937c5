//! Rule 2: a key signing at an hour of the day it practically never signs at.
//!
//! Release pipelines run when people work or on schedules; a signature at 03:00 from a key that
//! has only ever signed between 08:00 and 18:00 is worth a look. The usual hours are learned from
//! the key's own history (UTC hours of day), with an hour of slack either side so a release that
//! runs a little late does not fire.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde_json::json;

use super::{AlertRule, Finding, KeyRef, Subject};

/// Signatures the baseline needs before a key's hours are considered learned.
pub const MIN_HISTORY: i64 = 50;
/// An hour (with its neighbours) holding less than this share of the baseline, in percent, is
/// outside the key's usual hours.
pub const UNUSUAL_PERCENT: i64 = 1;

/// A key's signatures by hour of day over its baseline, and its signatures in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourProfile {
    pub key: KeyRef,
    /// Signatures per UTC hour of day (index 0 is 00:00–00:59) over the baseline.
    pub baseline_by_hour: [i64; 24],
    /// How many days the baseline covers (for the sentence).
    pub baseline_days: i64,
    /// When the key signed in the window.
    pub recent: Vec<DateTime<Utc>>,
}

/// One finding per clock hour in which the key signed outside its usual hours.
pub fn off_hours(p: &HourProfile) -> Vec<Finding> {
    let total: i64 = p.baseline_by_hour.iter().sum();
    if total < MIN_HISTORY {
        return Vec::new();
    }
    let near = |h: usize| -> i64 { (0..3).map(|d| p.baseline_by_hour[(h + 23 + d) % 24]).sum() };
    // Events grouped by the clock hour they fall in, so a burst at 03:00 is one alert.
    let mut by_clock_hour: BTreeMap<DateTime<Utc>, Vec<DateTime<Utc>>> = BTreeMap::new();
    for t in &p.recent {
        let hour = near(t.hour() as usize);
        if hour * 100 < total * UNUSUAL_PERCENT {
            let start = t
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(*t);
            by_clock_hour.entry(start).or_default().push(*t);
        }
    }
    let usual = usual_hours(&p.baseline_by_hour, total);
    by_clock_hour
        .into_iter()
        .map(|(start, times)| {
            let h = start.hour() as usize;
            let around = near(h);
            let first = times.iter().min().copied().unwrap_or(start);
            Finding {
                rule: AlertRule::OffHoursSigning,
                subject: Subject::Key(p.key.clone()),
                scope: start.format("%Y-%m-%dT%H").to_string(),
                continues_within: None,
                summary: format!(
                    "Key {} signed {} time{} between {:02}:00 and {:02}:59 UTC on {}; of its {total} signatures in the previous {} days, {around} fell within an hour of that (usual hours: {usual}).",
                    p.key.label(),
                    times.len(),
                    if times.len() == 1 { "" } else { "s" },
                    h,
                    h,
                    start.format("%Y-%m-%d"),
                    p.baseline_days,
                ),
                facts: json!({
                    "key_fingerprint": p.key.fingerprint,
                    "key_name": p.key.name,
                    "hour_utc": h,
                    "signatures_in_hour": times.len(),
                    "first_at": first,
                    "baseline_signatures": total,
                    "baseline_days": p.baseline_days,
                    "baseline_within_an_hour": around,
                    "usual_hours_utc": usual,
                }),
                observed_at: first,
            }
        })
        .collect()
}

/// The hours holding at least the usual share, as ranges: "08–17, 22 UTC".
fn usual_hours(by_hour: &[i64; 24], total: i64) -> String {
    let usual: Vec<bool> = by_hour
        .iter()
        .map(|n| *n > 0 && n * 100 >= total * UNUSUAL_PERCENT)
        .collect();
    let mut ranges = Vec::new();
    let mut h = 0;
    while h < 24 {
        if usual[h] {
            let start = h;
            while h + 1 < 24 && usual[h + 1] {
                h += 1;
            }
            ranges.push(if start == h {
                format!("{start:02}")
            } else {
                format!("{start:02}–{h:02}")
            });
        }
        h += 1;
    }
    if ranges.is_empty() {
        "none".into()
    } else {
        format!("{} UTC", ranges.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0).unwrap()
    }

    /// 10 signatures a day at each of 09:00–17:59 over 28 days.
    fn office_hours() -> [i64; 24] {
        let mut by_hour = [0; 24];
        for slot in by_hour.iter_mut().take(18).skip(9) {
            *slot = 28 * 10 / 9;
        }
        by_hour
    }

    fn profile(by_hour: [i64; 24], recent: Vec<DateTime<Utc>>) -> HourProfile {
        HourProfile {
            key: KeyRef {
                fingerprint: format!("sha256:{}", "b".repeat(64)),
                name: Some("web-release".into()),
            },
            baseline_by_hour: by_hour,
            baseline_days: 28,
            recent,
        }
    }

    #[test]
    fn signing_in_office_hours_does_not_fire() {
        let p = profile(office_hours(), vec![t(9, 5), t(12, 30), t(17, 59)]);
        assert!(off_hours(&p).is_empty());
    }

    #[test]
    fn an_hour_next_to_the_usual_ones_is_slack() {
        let p = profile(office_hours(), vec![t(8, 10), t(18, 40)]);
        assert!(off_hours(&p).is_empty());
    }

    #[test]
    fn a_burst_at_night_fires_once_for_its_hour() {
        let p = profile(office_hours(), vec![t(3, 5), t(3, 20), t(3, 59), t(12, 0)]);
        let f = off_hours(&p);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "2026-11-25T03");
        assert_eq!(f[0].facts["signatures_in_hour"], 3);
        assert_eq!(f[0].facts["baseline_signatures"], 279);
        assert_eq!(f[0].facts["baseline_within_an_hour"], 0);
        assert_eq!(f[0].observed_at, t(3, 5));
        assert!(
            f[0].summary.contains("usual hours: 09–17 UTC"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn the_threshold_is_one_percent_within_an_hour() {
        // 200 signatures in office hours; at 03:00 exactly 2 (1 %): usual enough.
        let mut by_hour = [0; 24];
        by_hour[12] = 198;
        by_hour[3] = 2;
        assert!(off_hours(&profile(by_hour, vec![t(3, 0)])).is_empty());
        // One fewer there and one more at noon: 0.5 %, unusual.
        by_hour[12] = 199;
        by_hour[3] = 1;
        assert_eq!(off_hours(&profile(by_hour, vec![t(3, 0)])).len(), 1);
    }

    #[test]
    fn a_key_without_enough_history_is_not_judged() {
        let mut by_hour = [0; 24];
        by_hour[12] = MIN_HISTORY - 1;
        assert!(off_hours(&profile(by_hour, vec![t(3, 0)])).is_empty());
        by_hour[12] = MIN_HISTORY;
        assert_eq!(off_hours(&profile(by_hour, vec![t(3, 0)])).len(), 1);
    }

    #[test]
    fn midnight_wraps_around() {
        let mut by_hour = [0; 24];
        by_hour[23] = 100;
        // 00:xx is within an hour of 23:xx.
        assert!(off_hours(&profile(by_hour, vec![t(0, 30)])).is_empty());
        assert_eq!(off_hours(&profile(by_hour, vec![t(1, 30)])).len(), 1);
    }
}
