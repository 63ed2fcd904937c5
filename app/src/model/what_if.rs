//! The "What if" page's view: what a key revocation or compromise would do to the admissions
//! recorded over the last days.

use serde::{Deserialize, Serialize};

/// The change tried and the placements whose verdict it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfView {
    /// The change in words: "Revoking key ci-release".
    pub change: String,
    pub window_days: i64,
    /// Distinct (image, digest, cluster, namespace) judged, and the admissions they stand for.
    pub placements: usize,
    pub admissions: i64,
    /// Only the most frequently admitted placements were judged.
    pub truncated: bool,
    pub refused_now: usize,
    pub refused_after: usize,
    /// Admitted today, refused after the change: what breaks. Most admissions first.
    pub newly_refused: Vec<WhatIfRowView>,
    /// Every other verdict change (a warning appears or goes, a refusal lifts).
    pub other_changes: Vec<WhatIfRowView>,
}

/// One workload placement whose verdict changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfRowView {
    pub image: String,
    pub digest: Option<String>,
    /// `sha256:` and the first 12 hex digits, for the table.
    pub digest_short: Option<String>,
    pub cluster: String,
    pub namespace: String,
    pub admissions: i64,
    pub now: String,
    pub after: String,
    /// The decision's sentence after the change.
    pub summary: String,
}

/// The change kinds the page offers, as `?change=` values and labels.
pub const WHAT_IF_CHANGES: [(&str, &str); 2] = [
    ("revoke", "Revoke the key"),
    ("compromise", "Mark the key compromised since…"),
];

/// A digest cut to `sha256:` and 12 hex digits.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => {
            format!("{algorithm}:{}", hex.chars().take(12).collect::<String>())
        }
        None => digest.chars().take(19).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_digests_keep_the_algorithm_and_twelve_digits() {
        assert_eq!(
            short_digest("sha256:0123456789abcdef0123456789abcdef"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
    }
}
