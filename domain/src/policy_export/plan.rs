//! What of one policy survives export, engine by engine the same: which keys stay, which
//! authorities still have a key, what the threshold becomes, and the notes that say why.

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashSet;

use crate::fingerprint::KeyFingerprint;
use crate::key_status::KeyStatus;
use crate::policy::{Authority, IdentityRule, Policy};
use crate::public_key::KeyAlgorithm;
use crate::trust_bundle::{TrustBundle, TrustedKey};

/// One authority that still has keys: any one of them signing satisfies it. Authorities never
/// share a key (see [`plan`]).
#[derive(Debug, Clone)]
pub(crate) struct PlannedAuthority<'a> {
    /// `key ci-release` or `group release-team`, for comments and messages.
    pub label: String,
    pub keys: Vec<&'a TrustedKey>,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    pub policy: &'a Policy,
    pub bundle_version: u64,
    /// The authorities that still have a key, in the policy's order.
    pub authorities: Vec<PlannedAuthority<'a>>,
    /// How many of `authorities` must be satisfied; at least 1.
    pub threshold: usize,
    /// Fewer authorities keep a key than the threshold asks for: the document must refuse every
    /// image the policy covers.
    pub fail_closed: bool,
    /// Why keys were left out, and what changed because of it; engine-independent.
    pub notes: Vec<String>,
}

impl Plan<'_> {
    /// Every key the document trusts, in authority order, each once.
    pub fn keys(&self) -> impl Iterator<Item = &TrustedKey> {
        self.authorities.iter().flat_map(|a| a.keys.iter().copied())
    }
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Why other engines must not trust `key`, or `None` when they may.
fn left_out(key: &TrustedKey, without: &[KeyFingerprint], now: DateTime<Utc>) -> Option<String> {
    if without.contains(key.fingerprint()) {
        return Some("left out on request".to_owned());
    }
    if key.status() == KeyStatus::Revoked {
        return Some(match key.revoked_at() {
            Some(at) => format!("revoked at {}", time(at)),
            None => "revoked".to_owned(),
        });
    }
    if let Some(since) = key.compromised_since() {
        return Some(format!(
            "compromised since {}; other engines have no trusted signing time, so they cannot \
             tell the signatures made before then (which Trustwatch still counts) from forgeries",
            time(since)
        ));
    }
    if key.status() == KeyStatus::Compromised {
        return Some("compromised".to_owned());
    }
    if !key.is_valid_at(now) {
        return Some(format!(
            "outside its validity window at {} (valid from {}{}); other engines cannot judge \
             a signature by the time it was made",
            time(now),
            time(key.valid_from()),
            key.valid_until()
                .map(|u| format!(" until {}", time(u)))
                .unwrap_or_default()
        ));
    }
    None
}

/// The hash cosign (and so every engine here) must use with `key`: ECDSA P-384 signs SHA-384
/// digests, everything else SHA-256 (Ed25519 ignores it).
pub(crate) fn hash_algorithm(key: &TrustedKey) -> &'static str {
    match key.public_key().algorithm() {
        KeyAlgorithm::EcdsaP384 => "sha384",
        _ => "sha256",
    }
}

pub(crate) fn describe(key: &TrustedKey) -> String {
    format!("{} ({})", key.name(), key.fingerprint())
}

/// Plans one policy. Authorities are made disjoint: a key listed by an earlier authority is
/// dropped from later ones, because Trustwatch counts one key for at most one authority while
/// the engines would let one signature satisfy every entry that lists its key. Dropping can only
/// make the document stricter: anything it accepts, Trustwatch's matching accepts too.
pub(crate) fn plan<'a>(
    bundle: &'a TrustBundle,
    policy: &'a Policy,
    without: &[KeyFingerprint],
    now: DateTime<Utc>,
) -> Plan<'a> {
    let mut notes = Vec::new();
    let mut reported: HashSet<&str> = HashSet::new();
    let mut used: HashSet<&KeyFingerprint> = HashSet::new();
    let mut authorities = Vec::new();
    for authority in policy.authorities() {
        let (label, names): (String, Vec<&str>) = match authority {
            Authority::Key(k) => (format!("key {k}"), vec![k.as_str()]),
            Authority::Group(g) => (
                format!("group {g}"),
                bundle
                    .key_group(g)
                    .map(|group| group.keys().iter().map(String::as_str).collect())
                    .unwrap_or_default(),
            ),
        };
        let mut keys = Vec::new();
        for name in names {
            // A consistent bundle has every key a policy or group names; a missing one is
            // simply not trusted.
            let Some(key) = bundle.key(name) else {
                continue;
            };
            if let Some(why) = left_out(key, without, now) {
                if reported.insert(key.name()) {
                    notes.push(format!("Left out key {}: {why}.", describe(key)));
                }
                continue;
            }
            if !used.insert(key.fingerprint()) {
                notes.push(format!(
                    "Key {} counts only for the first authority that lists it, not also for \
                     {label}: Trustwatch counts one key for one authority.",
                    key.name()
                ));
                continue;
            }
            keys.push(key);
        }
        if keys.is_empty() {
            notes.push(format!(
                "{label} has no key left and can never be satisfied."
            ));
        } else {
            authorities.push(PlannedAuthority { label, keys });
        }
    }
    let threshold = policy.threshold();
    let fail_closed = authorities.len() < threshold || authorities.is_empty();
    if fail_closed {
        notes.push(format!(
            "FAIL CLOSED: policy {} needs {threshold} of {} authorities, but only {} keep a \
             trusted key, so this document refuses every image the policy covers.",
            policy.name(),
            policy.authorities().len(),
            authorities.len()
        ));
    }
    Plan {
        policy,
        bundle_version: bundle.version(),
        authorities,
        threshold: threshold.max(1),
        fail_closed,
        notes,
    }
}

/// The comment lines every document starts with: where it comes from, where it applies, what
/// was left out, and what `engine` cannot express (`extra`, written by the engine's module).
pub(crate) fn header(plan: &Plan<'_>, engine: &str, extra: Vec<String>) -> Vec<String> {
    let policy = plan.policy;
    let mut lines = vec![format!(
        "Exported by Trustwatch from policy {} (trust bundle version {}) for {engine}. \
         Export again rather than edit.",
        policy.name(),
        plan.bundle_version
    )];
    if let Some(clusters) = policy.clusters() {
        let globs: Vec<&str> = clusters.iter().map(|g| g.as_str()).collect();
        lines.push(format!(
            "Trustwatch applies this policy only in clusters matching {}: apply it only there.",
            globs.join(", ")
        ));
    }
    lines.extend(plan.notes.iter().cloned());
    if !plan.fail_closed {
        if policy.identity() != IdentityRule::Ignore {
            lines.push(format!(
                "Not expressible: identity rule {}. {engine} does not compare the identity a \
                 signature names (critical.identity.docker-reference) with the image; any valid \
                 signature over the digest counts here, which is laxer than Trustwatch.",
                policy.identity()
            ));
        }
        if let Some(age) = policy.max_signature_age() {
            lines.push(format!(
                "Not expressible: maxSignatureAge {age}. {engine} has no trusted signing time \
                 for key-based signatures; signatures of any age count here, which is laxer \
                 than Trustwatch."
            ));
        }
        lines.push(
            "No transparency-log entry is required: Trustwatch does not consult Rekor either."
                .to_owned(),
        );
    }
    lines.extend(extra);
    lines
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn plan_of<'a>(s: &'a Scenario, name: &str, without: &[KeyFingerprint]) -> Plan<'a> {
        let policy = s
            .bundle
            .policies()
            .iter()
            .find(|p| p.name() == name)
            .unwrap();
        plan(&s.bundle, policy, without, now())
    }

    fn names(p: &Plan<'_>) -> Vec<Vec<String>> {
        p.authorities
            .iter()
            .map(|a| a.keys.iter().map(|k| k.name().to_owned()).collect())
            .collect()
    }

    #[test]
    fn keeps_usable_keys_and_the_threshold() {
        let s = Scenario::new();
        let p = plan_of(&s, "two-of-three", &[]);
        assert!(!p.fail_closed);
        assert_eq!(p.threshold, 2);
        assert_eq!(
            names(&p),
            vec![
                vec!["ci-release".to_owned()],
                vec!["security-review".to_owned()],
                vec!["team-a".to_owned(), "team-b".to_owned()],
            ]
        );
    }

    #[test]
    fn leaves_out_named_revoked_compromised_and_expired_keys() {
        let s = Scenario::new();
        let p = plan_of(&s, "everything", &[s.fingerprint("team-a")]);
        let kept: Vec<&str> = p.keys().map(TrustedKey::name).collect();
        assert_eq!(kept, ["ci-release", "security-review", "team-b"]);
        let notes = p.notes.join("\n");
        for needle in [
            "Left out key team-a",
            "left out on request",
            "Left out key old-revoked",
            "revoked at 2026-01-03T00:00:00Z",
            "Left out key stolen",
            "compromised since 2026-01-05T00:00:00Z",
            "Left out key expired",
            "outside its validity window",
        ] {
            assert!(notes.contains(needle), "no {needle:?} in {notes}");
        }
    }

    #[test]
    fn fails_closed_when_the_threshold_can_no_longer_be_met() {
        let s = Scenario::new();
        // 2 of 3, and two authorities lose their only keys.
        let p = plan_of(
            &s,
            "two-of-three",
            &[
                s.fingerprint("ci-release"),
                s.fingerprint("security-review"),
            ],
        );
        assert!(p.fail_closed);
        assert!(p.notes.iter().any(|n| n.starts_with("FAIL CLOSED")));
        // Losing only one still leaves 2 of 2.
        let p = plan_of(&s, "two-of-three", &[s.fingerprint("ci-release")]);
        assert!(!p.fail_closed);
        assert_eq!((p.authorities.len(), p.threshold), (2, 2));
        // A policy that trusted only the stolen key refuses everything.
        let p = plan_of(&s, "stolen-only", &[]);
        assert!(p.fail_closed);
        assert!(p.authorities.is_empty());
    }

    #[test]
    fn a_key_counts_for_one_authority_only() {
        let s = Scenario::new();
        let p = plan_of(&s, "overlapping", &[]);
        // keys: [team-a], groups: [both = team-a, team-b]
        assert_eq!(
            names(&p),
            vec![vec!["team-a".to_owned()], vec!["team-b".to_owned()]]
        );
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("counts only for the first")));
    }

    #[test]
    fn p384_keys_hash_with_sha384() {
        let s = Scenario::new();
        assert_eq!(hash_algorithm(s.bundle.key("team-b").unwrap()), "sha384");
        assert_eq!(
            hash_algorithm(s.bundle.key("ci-release").unwrap()),
            "sha256"
        );
    }
}
