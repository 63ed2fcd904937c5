//! Rule 1: a key used by a signer identity or from a signer host it was never used by before.
//!
//! A leaked key is usually used from somewhere new: a laptop instead of the CI runners, a manual
//! `cosign sign` instead of the release pipeline. A key needs some history first, or every
//! signer of a freshly imported key would be "new".

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{at, AlertRule, Finding, KeyRef, Subject};

/// Signatures a key must have made before the window for its signers to count as known.
pub const MIN_HISTORY: i64 = 10;

/// One signature inside the evaluated window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub identity: String,
    pub host: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A key's signers before the window, and its signatures in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerHistory {
    pub key: KeyRef,
    /// Signatures recorded before the window.
    pub signatures_before: i64,
    /// The signers seen before the window, already through [`signer_of`]. Only the window's
    /// own signers are looked up, so this may hold just those of them that are known.
    pub known_signers: BTreeSet<String>,
    pub known_hosts: BTreeSet<String>,
    /// Signatures in the window, oldest first.
    pub recent: Vec<Signing>,
}

/// The signer behind an identity: CI systems append the run's number (`release#4711`), and the
/// next run of a known pipeline is not a new signer. `service::alerts` strips the same suffix in
/// SQL (`'#[0-9]+$'`).
pub fn signer_of(identity: &str) -> &str {
    match identity.rsplit_once('#') {
        Some((base, run)) if !run.is_empty() && run.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => identity,
    }
}

/// One finding per identity and per host the key had not been used by before the window,
/// at its first use.
pub fn new_signers(h: &SignerHistory) -> Vec<Finding> {
    if h.signatures_before < MIN_HISTORY {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let mut seen_signers = BTreeSet::new();
    let mut seen_hosts = BTreeSet::new();
    for s in &h.recent {
        let signer = signer_of(&s.identity);
        if !h.known_signers.contains(signer) && seen_signers.insert(signer.to_owned()) {
            findings.push(finding(h, "identity", signer, s, |e| {
                signer_of(&e.identity) == signer
            }));
        }
        if let Some(host) = &s.host {
            if !h.known_hosts.contains(host) && seen_hosts.insert(host.clone()) {
                findings.push(finding(h, "host", host, s, |e| {
                    e.host.as_ref() == Some(host)
                }));
            }
        }
    }
    findings
}

fn finding(
    h: &SignerHistory,
    what: &str,
    value: &str,
    first: &Signing,
    same: impl Fn(&Signing) -> bool,
) -> Finding {
    let uses = h.recent.iter().filter(|e| same(e)).count();
    let other = if what == "identity" {
        format!(
            "from {}",
            first.host.as_deref().unwrap_or("an unnamed host")
        )
    } else {
        format!("by {}", first.identity)
    };
    Finding {
        rule: AlertRule::NewSigner,
        subject: Subject::Key(h.key.clone()),
        scope: format!("{what}:{value}"),
        continues_within: None,
        summary: format!(
            "Key {} signed as new {what} {value:?} ({other}) at {}: never seen in its {} earlier signatures; {uses} signature{} from it since.",
            h.key.label(),
            at(first.recorded_at),
            h.signatures_before,
            if uses == 1 { "" } else { "s" },
        ),
        facts: json!({
            "key_fingerprint": h.key.fingerprint,
            "key_name": h.key.name,
            "new": what,
            "value": value,
            "signer_identity": first.identity,
            "signer_host": first.host,
            "first_seen_at": first.recorded_at,
            "signatures_from_it": uses,
            "earlier_signatures": h.signatures_before,
        }),
        observed_at: first.recorded_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    fn history(before: i64, recent: Vec<Signing>) -> SignerHistory {
        SignerHistory {
            key: KeyRef {
                fingerprint: format!("sha256:{}", "a".repeat(64)),
                name: Some("ci-release".into()),
            },
            signatures_before: before,
            known_signers: ["gitlab-ci/web/release".to_owned()].into(),
            known_hosts: ["runner-1".to_owned(), "runner-2".to_owned()].into(),
            recent,
        }
    }

    fn sig(identity: &str, host: Option<&str>, hour: u32) -> Signing {
        Signing {
            identity: identity.into(),
            host: host.map(Into::into),
            recorded_at: t(hour),
        }
    }

    #[test]
    fn run_numbers_do_not_make_a_new_signer() {
        assert_eq!(
            signer_of("gitlab-ci/web/release#4711"),
            "gitlab-ci/web/release"
        );
        assert_eq!(signer_of("alice#admins"), "alice#admins");
        assert_eq!(signer_of("trailing#"), "trailing#");
        assert_eq!(signer_of("plain"), "plain");
    }

    #[test]
    fn a_known_stream_does_not_fire() {
        let h = history(
            50,
            vec![
                sig("gitlab-ci/web/release#5001", Some("runner-1"), 9),
                sig("gitlab-ci/web/release#5002", Some("runner-2"), 10),
                sig("gitlab-ci/web/release#5003", None, 11),
            ],
        );
        assert!(new_signers(&h).is_empty());
    }

    #[test]
    fn a_new_identity_and_a_new_host_fire_once_each() {
        let h = history(
            50,
            vec![
                sig("gitlab-ci/web/release#5001", Some("runner-1"), 9),
                sig("unknown/manual", Some("203.0.113.77"), 10),
                sig("unknown/manual", Some("203.0.113.77"), 11),
            ],
        );
        let f = new_signers(&h);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].scope, "identity:unknown/manual");
        assert_eq!(f[0].facts["signatures_from_it"], 2);
        assert_eq!(f[0].facts["earlier_signatures"], 50);
        assert_eq!(f[0].observed_at, t(10));
        assert!(
            f[0].summary.contains("\"unknown/manual\""),
            "{}",
            f[0].summary
        );
        assert!(
            f[0].summary.contains("50 earlier signatures"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[1].scope, "host:203.0.113.77");
    }

    #[test]
    fn a_new_host_alone_fires() {
        let h = history(50, vec![sig("gitlab-ci/web/release#9", Some("laptop"), 9)]);
        let f = new_signers(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].scope, "host:laptop");
    }

    #[test]
    fn a_key_without_enough_history_learns_first() {
        let recent = vec![sig("unknown/manual", Some("laptop"), 9)];
        assert!(new_signers(&history(MIN_HISTORY - 1, recent.clone())).is_empty());
        assert_eq!(new_signers(&history(MIN_HISTORY, recent)).len(), 2);
    }
}
