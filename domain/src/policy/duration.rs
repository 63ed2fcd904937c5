//! The `maxSignatureAge` of a policy: a whole number and one unit, `s`, `m`, `h` or `d`
//! (`90d`, `12h`). One unit keeps the text unambiguous to read and to write back unchanged.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How old a signature may be. Keeps the text it was written as, so a policy exports unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignatureAge {
    text: String,
    duration: TimeDelta,
}

impl SignatureAge {
    /// Ten years: longer is surely a typo, and it keeps arithmetic with dates far from overflow.
    pub const MAX_SECONDS: i64 = 10 * 366 * 24 * 3600;

    pub fn parse(s: &str) -> Result<Self, String> {
        let usage = || {
            format!("{s:?} is not a duration: write a whole number and one unit of s, m, h or d, e.g. 90d")
        };
        let unit_at = s.len().checked_sub(1).ok_or_else(usage)?;
        let (number, unit) = s.split_at(unit_at);
        let seconds_per_unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(usage()),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(usage());
        }
        let n: i64 = number.parse().map_err(|_| usage())?;
        let seconds = n
            .checked_mul(seconds_per_unit)
            .filter(|&s| s <= Self::MAX_SECONDS)
            .ok_or_else(|| format!("{s:?} is longer than ten years"))?;
        if seconds == 0 {
            return Err(format!(
                "{s:?} would refuse every signature; use a positive duration"
            ));
        }
        let duration = TimeDelta::try_seconds(seconds).ok_or_else(usage)?;
        Ok(Self {
            text: s.to_owned(),
            duration,
        })
    }

    pub fn duration(&self) -> TimeDelta {
        self.duration
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for SignatureAge {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<SignatureAge> for String {
    fn from(a: SignatureAge) -> String {
        a.text
    }
}

impl fmt::Display for SignatureAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A duration as people say it: "3 days", "5 hours", "40 minutes", "12 seconds".
pub fn humanize(d: TimeDelta) -> String {
    let secs = d.num_seconds().abs();
    let (n, unit) = if secs >= 2 * 86_400 {
        (secs / 86_400, "days")
    } else if secs >= 2 * 3600 {
        (secs / 3600, "hours")
    } else if secs >= 2 * 60 {
        (secs / 60, "minutes")
    } else {
        (secs, "seconds")
    };
    if n == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{n} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        for (text, seconds) in [
            ("45s", 45),
            ("30m", 1800),
            ("12h", 43_200),
            ("90d", 7_776_000),
        ] {
            let age = SignatureAge::parse(text).unwrap();
            assert_eq!(age.duration().num_seconds(), seconds);
            assert_eq!(age.as_str(), text);
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_unambiguously() {
        for bad in [
            "",
            "d",
            "90",
            "90 d",
            "1.5d",
            "-1d",
            "+1d",
            "1w",
            "1d12h",
            "0d",
            "99999999999d",
            "3661d",
        ] {
            assert!(SignatureAge::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn humanizes() {
        assert_eq!(humanize(TimeDelta::days(120)), "120 days");
        assert_eq!(humanize(TimeDelta::hours(30)), "30 hours");
        assert_eq!(humanize(TimeDelta::seconds(61)), "61 seconds");
        assert_eq!(humanize(TimeDelta::seconds(1)), "1 second");
    }
}
