//! Views of the key page and the image pages (and the Keys inventory's additions): times are
//! formatted on the server, as everywhere in `model`.

use serde::{Deserialize, Serialize};

use super::KeyView;

/// A policy that accepts a key's signatures, and the group it trusts the key through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustView {
    pub policy: String,
    pub mode: String,
    pub via_group: Option<String>,
}

/// Signatures per day over the last days, one series per signer identity. `counts[i][d]` is the
/// number of signatures identity `i` made on `days[d]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyUsageView {
    /// `YYYY-MM-DD`, oldest first, every day of the window (days without signatures too).
    pub days: Vec<String>,
    /// The most active identities first; the rest are summed into a last series "other identities".
    pub identities: Vec<String>,
    pub counts: Vec<Vec<i64>>,
    pub total: i64,
    /// Distinct signer identities in the window, also those summed into "other identities".
    pub signers: usize,
}

impl KeyUsageView {
    /// The signatures of day `d` over all identities.
    pub fn day_total(&self, d: usize) -> i64 {
        self.counts.iter().filter_map(|c| c.get(d)).sum()
    }
}

/// An identity on a host that signed with the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignerView {
    pub identity: String,
    pub host: Option<String>,
    pub signatures: i64,
    pub first_seen: String,
    pub last_seen: String,
}

/// An alert about a key, as the key page lists it (filled in once alerts exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyAlertView {
    pub id: String,
    pub severity: String,
    pub summary: String,
    pub raised: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPageView {
    pub key: KeyView,
    pub custody_uri: Option<String>,
    pub usage_days: u32,
    pub usage: KeyUsageView,
    pub signers: Vec<SignerView>,
    /// All identity-host pairs, of which `signers` are the most recently seen.
    pub signers_total: i64,
    pub alerts: Vec<KeyAlertView>,
    /// The caller may change keys (and so ask what a revocation would break).
    pub can_change: bool,
}

/// One signing event of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedImageView {
    pub repository: String,
    pub image: String,
    pub digest: String,
    pub identity: String,
    pub host: Option<String>,
    pub recorded: String,
}

/// A page of a key's signed images, newest first. `next` is the `before` of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedImagesPage {
    pub images: Vec<SignedImageView>,
    pub next: Option<String>,
}

/// A repository's digest that matched a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMatchView {
    pub repository: String,
    pub digest: Option<String>,
    pub references: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub last_seen_ago: String,
    pub signatures: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSearchView {
    pub query: String,
    pub matches: Vec<ImageMatchView>,
    /// More matched than are shown.
    pub truncated: bool,
}

/// A recorded signature of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSignatureView {
    /// `None` when the fingerprint is not a key Trustwatch knows.
    pub key_name: Option<String>,
    pub key_fingerprint: String,
    pub key_status: Option<String>,
    pub image: String,
    pub identity: String,
    pub host: Option<String>,
    pub recorded: String,
    pub claimed: Option<String>,
    /// Where Trustwatch learned of it.
    pub source: String,
}

/// The digest in one namespace of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementView {
    pub cluster: String,
    pub namespace: String,
    pub last_outcome: String,
    pub last_reason: String,
    pub last_event: String,
    pub last_seen: String,
    pub admitted: i64,
    pub rejected: i64,
    pub warned: i64,
    pub errors: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageView {
    pub digest: String,
    pub references: Vec<String>,
    pub signatures: Vec<ImageSignatureView>,
    pub placements: Vec<PlacementView>,
}

/// One admission outcome of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationView {
    pub id: String,
    pub cluster: String,
    pub namespace: String,
    pub workload: String,
    pub image: String,
    pub outcome: String,
    pub reason: String,
    pub engine: String,
    pub policy: Option<String>,
    pub observed: String,
}

/// A page of a digest's verification history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageHistoryPage {
    pub events: Vec<VerificationView>,
    pub next: Option<String>,
}
