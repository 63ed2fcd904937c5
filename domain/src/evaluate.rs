//! Admission evaluation: signatures and a trust bundle in, a [`Decision`] out.
//!
//! The rules, in the order they apply:
//!
//! 1. The policies that cover the image (glob over `registry/repository`, cluster and namespace
//!    scope) are the matching policies, and every one of them must pass. When none matches, the
//!    bundle's default action decides.
//! 2. Each signature is first attributed to the bundle key it verifies under (cosign signatures do
//!    not say which key made them, so keys are tried, those the matching policies name first). A
//!    signature no bundle key verifies is `unknown_key` evidence.
//! 3. For each policy, a signature by one of its authorities' keys counts only when its payload
//!    parses, covers the image's digest, names an identity the policy's rule accepts, and its key
//!    was usable when it signed: not revoked; when compromised since T, recorded by Trustwatch
//!    strictly before T; inside the key's validity window (judged at the recorded time, else
//!    now); and no older than the policy's maximum age (judged on the recorded time, else the
//!    payload's own timestamp, else refused as of unknown age).
//! 4. An authority is satisfied by one counting signature of one of its keys, and one key
//!    satisfies at most one authority (a key listed alone and inside a group does not count
//!    twice): the number of satisfied authorities is a maximum matching of authorities to keys.
//!    The policy passes when that number reaches its threshold.
//!
//! Everything fails closed: an unknown digest, an empty authority list, a threshold of 0, a key
//! the bundle lacks — each is a failure with its reason, never a pass.

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{BTreeMap, BTreeSet};

use crate::decision::{AdmissionRequest, Check, CheckKind, Decision, SignatureEvidence};
use crate::image::{Digest, ImageReference};
use crate::key_status::KeyStatus;
use crate::policy::duration::humanize;
use crate::policy::{Authority, IdentityRule, Mode, Policy};
use crate::public_key::PublicKey;
use crate::reason::ReasonCode;
use crate::simple_signing::SimpleSigningPayload;
use crate::trust_bundle::{DefaultAction, TrustBundle, TrustedKey};
use crate::ParseError;

/// Checks one signature under one key. The admission path calls this for every (signature, key)
/// pair it tries, so the service can put a cache of verified triples in front of the direct
/// check: signatures are immutable, and the same few are checked over and over.
pub trait SignatureVerifier {
    fn verify(&self, key: &PublicKey, payload: &[u8], signature: &[u8]) -> bool;
}

/// Verifies every time, with no cache.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectVerifier;

#[cfg(not(target_arch = "wasm32"))]
impl SignatureVerifier for DirectVerifier {
    fn verify(&self, key: &PublicKey, payload: &[u8], signature: &[u8]) -> bool {
        key.verify(payload, signature).is_ok()
    }
}

/// Decides whether `request` may be admitted on the strength of `signatures`.
pub fn evaluate(
    request: &AdmissionRequest,
    signatures: &[SignatureEvidence],
    bundle: &TrustBundle,
    verifier: &dyn SignatureVerifier,
    now: DateTime<Utc>,
) -> Decision {
    let name = request.image.name();
    let matched: Vec<&Policy> = bundle
        .policies()
        .iter()
        .filter(|p| p.applies_to_name(&name, &request.cluster, &request.namespace))
        .collect();
    if matched.is_empty() {
        return default_decision(request, bundle);
    }
    let mut warnings = Vec::new();
    if let (Some(pinned), Some(resolved)) = (request.image.digest(), &request.digest) {
        if pinned != resolved {
            warnings.push(format!(
                "{} is pinned to {pinned}, but its tag now resolves to {resolved}; the pinned digest was checked",
                request.image
            ));
        }
    }
    let evidence = Evidence::gather(signatures, bundle, verifier, &matched);
    let outcomes: Vec<PolicyOutcome> = matched
        .iter()
        .map(|p| judge_policy(p, request, &evidence, bundle, now))
        .collect();
    combine(outcomes, warnings)
}

/// Whether a signature's identity (`critical.identity.docker-reference`) is acceptable for
/// `deployed` under `rule`.
pub fn identity_matches(
    rule: IdentityRule,
    deployed: &ImageReference,
    signed: &ImageReference,
) -> bool {
    match rule {
        IdentityRule::Ignore => true,
        IdentityRule::Repository => same_repository(deployed, signed),
        IdentityRule::Exact => {
            if !same_repository(deployed, signed) {
                return false;
            }
            match (deployed.tag(), deployed.digest()) {
                // Deployed by digest alone: the digest is checked against the payload already;
                // the identity need only name the repository.
                (None, Some(_)) => true,
                // Deployed by tag (with or without a digest), or by bare name, which means
                // `latest`: the signature must name that very tag.
                (tag, _) => signed.tag() == Some(tag.unwrap_or("latest")),
            }
        }
    }
}

fn same_repository(a: &ImageReference, b: &ImageReference) -> bool {
    canonical_registry(a.registry()) == canonical_registry(b.registry())
        && a.repository() == b.repository()
}

/// Docker Hub answers to several names; cosign (go-containerregistry) writes `index.docker.io`.
fn canonical_registry(registry: &str) -> &str {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// Which bundle key a signature is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    /// It verifies under this key.
    Key(usize),
    /// Its signing event names this key, and it verifies under no key of the bundle.
    FailsUnderNamedKey(usize),
    /// It verifies under no key of the bundle.
    Unknown,
}

/// The policy-independent facts about each signature, computed once per admission.
struct Evidence<'a> {
    signatures: &'a [SignatureEvidence],
    payloads: Vec<Result<SimpleSigningPayload, ParseError>>,
    signers: Vec<Signer>,
}

impl<'a> Evidence<'a> {
    fn gather(
        signatures: &'a [SignatureEvidence],
        bundle: &TrustBundle,
        verifier: &dyn SignatureVerifier,
        matched: &[&Policy],
    ) -> Self {
        // Keys the matching policies name are tried first: on the usual path the first try is
        // the right one. The rest are tried only for signatures none of those verify, to say
        // whose they are.
        let mut order: Vec<usize> = Vec::new();
        for policy in matched {
            for authority in policy.authorities() {
                for i in authority_keys(authority, bundle) {
                    if !order.contains(&i) {
                        order.push(i);
                    }
                }
            }
        }
        for i in 0..bundle.keys().len() {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        let keys = bundle.keys();
        let signers = signatures
            .iter()
            .map(|sig| {
                let named = sig
                    .key
                    .as_ref()
                    .and_then(|fp| keys.iter().position(|k| k.fingerprint() == fp));
                let verifies = |i: usize| {
                    !sig.signature.is_empty()
                        && verifier.verify(keys[i].public_key(), &sig.payload, &sig.signature)
                };
                named
                    .into_iter()
                    .chain(order.iter().copied().filter(|&i| Some(i) != named))
                    .find(|&i| verifies(i))
                    .map(Signer::Key)
                    .or(named.map(Signer::FailsUnderNamedKey))
                    .unwrap_or(Signer::Unknown)
            })
            .collect();
        Self {
            signatures,
            payloads: signatures
                .iter()
                .map(|s| SimpleSigningPayload::parse(&s.payload))
                .collect(),
            signers,
        }
    }
}

/// The bundle indexes of an authority's keys; empty when the bundle lacks them.
fn authority_keys(authority: &Authority, bundle: &TrustBundle) -> Vec<usize> {
    let index = |name: &str| bundle.keys().iter().position(|k| k.name() == name);
    match authority {
        Authority::Key(name) => index(name).into_iter().collect(),
        Authority::Group(group) => bundle
            .key_group(group)
            .map(|g| g.keys().iter().filter_map(|k| index(k)).collect())
            .unwrap_or_default(),
    }
}

/// How much a signature failure says about what went wrong: the higher, the more it is the
/// thing to tell the developer first.
fn severity(reason: ReasonCode) -> u8 {
    match reason {
        ReasonCode::KeyRevoked => 6,
        ReasonCode::SignedAfterCompromise => 5,
        ReasonCode::OutsideValidityWindow => 4,
        ReasonCode::IdentityMismatch => 3,
        ReasonCode::DigestMismatch => 2,
        ReasonCode::SignatureInvalid => 1,
        _ => 0,
    }
}

fn dominant(reasons: impl IntoIterator<Item = ReasonCode>) -> Option<ReasonCode> {
    reasons.into_iter().max_by_key(|r| severity(*r))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One signature judged for one policy.
struct Judged {
    signature: usize,
    key: usize,
    check: Check,
}

impl Judged {
    fn passed(&self) -> bool {
        self.check.passed
    }
}

/// The facts one policy's verdict rests on.
struct PolicyOutcome<'a> {
    policy: &'a Policy,
    passed: bool,
    reason: ReasonCode,
    check: Check,
    summary: String,
    remediation: Vec<String>,
    notes: Vec<String>,
}

impl<'a> PolicyOutcome<'a> {
    /// A failure found before any signature was looked at; `check` carries the reason.
    fn refused(policy: &'a Policy, check: Check, summary: String, remedy: String) -> Self {
        Self {
            policy,
            passed: false,
            reason: check.reason.unwrap_or(ReasonCode::ThresholdNotMet),
            check,
            summary,
            remediation: vec![remedy],
            notes: Vec::new(),
        }
    }
}

struct Context<'a> {
    request: &'a AdmissionRequest,
    bundle: &'a TrustBundle,
    evidence: &'a Evidence<'a>,
    now: DateTime<Utc>,
}

impl Context<'_> {
    /// `registry/repository@digest`, or with a placeholder when the digest is unknown.
    fn pinned(&self) -> String {
        match self.request.effective_digest() {
            Some(d) => format!("{}@{d}", self.request.image.name()),
            None => format!("{}@<digest>", self.request.image.name()),
        }
    }

    fn digest_text(&self) -> String {
        self.request
            .effective_digest()
            .map_or_else(|| "its digest".to_owned(), Digest::to_string)
    }
}

fn judge_policy<'a>(
    policy: &'a Policy,
    request: &AdmissionRequest,
    evidence: &Evidence,
    bundle: &TrustBundle,
    now: DateTime<Utc>,
) -> PolicyOutcome<'a> {
    let cx = Context {
        request,
        bundle,
        evidence,
        now,
    };
    let authorities = policy.authorities();
    let threshold = policy.threshold();
    let subject = format!("policy {}", policy.name());
    let wanted = format!(
        "needs {threshold} of {}: {}",
        authorities.len(),
        list(authorities.iter().map(Authority::to_string))
    );

    // Fail closed on a policy that cannot be satisfied; validation makes this unreachable.
    if authorities.is_empty() || threshold == 0 {
        let detail = format!(
            "policy {} names no authorities or a threshold of 0, so it can never pass",
            policy.name()
        );
        let check = Check::fail(
            CheckKind::Policy,
            subject,
            ReasonCode::ThresholdNotMet,
            &detail,
        );
        return PolicyOutcome::refused(
            policy,
            check,
            format!("{detail}."),
            format!(
                "ask the security team to fix policy {}: it needs at least one authority and a threshold of 1 or more",
                policy.name()
            ),
        );
    }

    let Some(digest) = request.effective_digest() else {
        let detail = format!(
            "the digest of {} is unknown (the tag was not resolved), so no signature can be checked",
            request.image
        );
        let check = Check::fail(
            CheckKind::Policy,
            &subject,
            ReasonCode::DigestRequired,
            format!("{} ({wanted})", policy.mode()),
        )
        .with_children(vec![Check::fail(
            CheckKind::Digest,
            "image digest",
            ReasonCode::DigestRequired,
            &detail,
        )]);
        return PolicyOutcome::refused(
            policy,
            check,
            format!("Policy {} cannot be checked: {detail}.", policy.name()),
            format!(
                "pin the digest: deploy {}@sha256:… (the digest of the image you built) instead of {}",
                request.image.name(),
                request.image
            ),
        );
    };

    let digest_check = if policy.require_digest() && request.image.digest().is_none() {
        Check::fail(
            CheckKind::Digest,
            "image digest",
            ReasonCode::DigestRequired,
            format!(
                "policy {} requires deployment by digest; {} is deployed by tag",
                policy.name(),
                request.image
            ),
        )
        .expecting(
            format!("{}@{digest}", request.image.name()),
            request.image.to_string(),
        )
    } else if request.image.digest().is_some() {
        Check::pass(
            CheckKind::Digest,
            "image digest",
            format!("pinned to {digest}"),
        )
    } else {
        Check::pass(
            CheckKind::Digest,
            "image digest",
            format!("the tag resolved to {digest}"),
        )
    };

    // Judge every signature attributed to one of this policy's keys.
    let policy_keys: BTreeSet<usize> = authorities
        .iter()
        .flat_map(|a| authority_keys(a, bundle))
        .collect();
    let mut judged: BTreeMap<usize, Vec<Judged>> = BTreeMap::new();
    let mut foreign: Vec<Check> = Vec::new();
    for (s, signer) in evidence.signers.iter().enumerate() {
        match *signer {
            Signer::Key(k) | Signer::FailsUnderNamedKey(k) if policy_keys.contains(&k) => {
                judged.entry(k).or_default().push(Judged {
                    signature: s,
                    key: k,
                    check: judge_signature(&cx, policy, s, k, digest),
                });
            }
            _ => foreign.push(foreign_signature(&cx, policy, s)),
        }
    }

    // Match authorities to keys with a counting signature, each key used once.
    let options: Vec<Vec<usize>> = authorities
        .iter()
        .map(|a| {
            authority_keys(a, bundle)
                .into_iter()
                .filter(|k| {
                    judged
                        .get(k)
                        .is_some_and(|js| js.iter().any(Judged::passed))
                })
                .collect()
        })
        .collect();
    let assignment = max_matching(&options);
    let satisfied = assignment.iter().flatten().count();

    let mut notes = Vec::new();
    let authority_checks: Vec<Check> = authorities
        .iter()
        .enumerate()
        .map(|(a, authority)| {
            let (check, note) = authority_check(
                bundle,
                authority,
                assignment[a],
                &options[a],
                &judged,
                digest,
            );
            notes.extend(note);
            check
        })
        .collect();

    let digest_ok = digest_check.passed;
    let passed = digest_ok && satisfied >= threshold;
    let all_judged: Vec<&Judged> = judged.values().flatten().collect();
    let reason = if passed {
        ReasonCode::Admitted
    } else if !digest_ok {
        ReasonCode::DigestRequired
    } else if evidence.signatures.is_empty() {
        ReasonCode::Unsigned
    } else if satisfied >= 1 {
        ReasonCode::ThresholdNotMet
    } else {
        dominant(all_judged.iter().filter_map(|j| j.check.reason)).unwrap_or(ReasonCode::UnknownKey)
    };

    let satisfied_names: Vec<String> = assignment
        .iter()
        .flatten()
        .map(|&k| bundle.keys()[k].name().to_owned())
        .collect();
    let detail = format!(
        "{} mode; {satisfied} of {} authorities satisfied ({wanted})",
        policy.mode(),
        authorities.len()
    );
    let mut children = vec![digest_check];
    children.extend(authority_checks);
    children.extend(foreign);
    let check = if passed {
        Check::pass(CheckKind::Policy, &subject, detail)
    } else {
        Check::fail(CheckKind::Policy, &subject, reason, detail)
    }
    .with_children(children);

    let (summary, remediation) = if passed {
        (
            format!(
                "policy {} is satisfied by {}",
                policy.name(),
                list(satisfied_names.iter().cloned())
            ),
            Vec::new(),
        )
    } else {
        explain(
            &cx,
            policy,
            reason,
            &assignment,
            &options,
            &all_judged,
            &wanted,
        )
    };
    PolicyOutcome {
        policy,
        passed,
        reason,
        check,
        summary,
        remediation,
        notes,
    }
}

/// Whether `authority` is satisfied (by key `assigned`, if the matching gave it one) and why
/// not, with the judged signatures of its keys beneath. The note, if any, becomes a warning.
fn authority_check(
    bundle: &TrustBundle,
    authority: &Authority,
    assigned: Option<usize>,
    valid_keys: &[usize],
    judged: &BTreeMap<usize, Vec<Judged>>,
    digest: &Digest,
) -> (Check, Option<String>) {
    let keys = authority_keys(authority, bundle);
    let children: Vec<Check> = keys
        .iter()
        .flat_map(|k| judged.get(k).into_iter().flatten())
        .map(|j| j.check.clone())
        .collect();
    let subject = match authority {
        Authority::Key(k) => format!("key {k}"),
        Authority::Group(g) => format!("group {g}"),
    };
    let fail = |reason: ReasonCode, detail: String| {
        Check::fail(CheckKind::Authority, &subject, reason, detail)
    };
    let mut note = None;
    let check = if let Some(k) = assigned {
        let key = &bundle.keys()[k];
        let signature = judged
            .get(&k)
            .and_then(|js| js.iter().find(|j| j.passed()))
            .map_or(0, |j| j.signature + 1);
        if key.status() == KeyStatus::Retiring {
            note = Some(format!(
                "key {} is retiring: sign new releases with its successor",
                key.name()
            ));
        }
        Check::pass(
            CheckKind::Authority,
            &subject,
            format!(
                "satisfied by signature #{signature} from key {}",
                key.name()
            ),
        )
    } else if keys.is_empty() {
        fail(
            ReasonCode::UnknownKey,
            format!("{authority} is not in the trust bundle, so it can never sign"),
        )
    } else if !valid_keys.is_empty() {
        fail(
            ReasonCode::ThresholdNotMet,
            format!(
                "its only valid signatures are by {}, which already counts for another authority; one key counts once",
                list(valid_keys.iter().map(|&k| bundle.keys()[k].name().to_owned()))
            ),
        )
    } else {
        match dominant(children.iter().filter_map(|c| c.reason)) {
            Some(reason) => fail(reason, format!("no valid signature from {authority}")),
            None => fail(
                ReasonCode::Unsigned,
                format!("{authority} has not signed {digest}"),
            ),
        }
    };
    (check.with_children(children), note)
}

/// A signature by a key this policy does not count, or by no key of the bundle.
fn foreign_signature(cx: &Context, policy: &Policy, s: usize) -> Check {
    let sig = &cx.evidence.signatures[s];
    let subject = format!("signature #{}", s + 1);
    let detail = match cx.evidence.signers[s] {
        Signer::Key(k) => format!(
            "signed by key {}, which policy {} does not trust",
            cx.bundle.keys()[k].name(),
            policy.name()
        ),
        Signer::FailsUnderNamedKey(k) => format!(
            "its signing event names key {}, which policy {} does not trust, and it does not verify under any key of the trust bundle",
            cx.bundle.keys()[k].name(),
            policy.name()
        ),
        Signer::Unknown => match &sig.key {
            Some(fp) => format!("its signing event names key {fp}, which is not in the trust bundle, and no trusted key verifies it"),
            None => "no key in the trust bundle verifies it: it was made with an unknown key, or altered".to_owned(),
        },
    };
    Check::fail(
        CheckKind::Signature,
        subject,
        ReasonCode::UnknownKey,
        detail,
    )
    .from_source(sig.source)
}

/// Judges signature `s`, attributed to key `k`, for `policy`.
fn judge_signature(cx: &Context, policy: &Policy, s: usize, k: usize, digest: &Digest) -> Check {
    let sig = &cx.evidence.signatures[s];
    let key = &cx.bundle.keys()[k];
    let subject = format!("signature #{} by {}", s + 1, key.name());
    let finish = |steps: Vec<Check>| {
        let failures: Vec<ReasonCode> = steps.iter().filter_map(|c| c.reason).collect();
        let check = match dominant(failures) {
            None => Check::pass(
                CheckKind::Signature,
                &subject,
                format!("a valid signature by key {}", key.name()),
            ),
            Some(reason) => {
                let why: Vec<&str> = steps
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.detail.as_str())
                    .collect();
                Check::fail(CheckKind::Signature, &subject, reason, why.join("; "))
            }
        };
        check.from_source(sig.source).with_children(steps)
    };

    let mut steps = Vec::new();
    if let Signer::FailsUnderNamedKey(_) = cx.evidence.signers[s] {
        steps.push(Check::fail(
            CheckKind::Verification,
            "signature",
            ReasonCode::SignatureInvalid,
            format!(
                "its signing event names key {}, but the signature does not verify under it: the payload or the signature was altered",
                key.name()
            ),
        ));
        return finish(steps);
    }
    steps.push(Check::pass(
        CheckKind::Verification,
        "signature",
        format!(
            "verifies under key {} ({}, {})",
            key.name(),
            key.public_key().algorithm(),
            key.fingerprint()
        ),
    ));

    let payload = match &cx.evidence.payloads[s] {
        Ok(p) => p,
        Err(e) => {
            steps.push(Check::fail(
                CheckKind::Payload,
                "payload",
                ReasonCode::SignatureInvalid,
                format!("the signed payload is not a simple-signing document: {e}"),
            ));
            return finish(steps);
        }
    };
    steps.push(Check::pass(
        CheckKind::Payload,
        "payload",
        format!("payload of type {:?}", payload.signature_type()),
    ));

    steps.push(
        if payload.manifest_digest() == digest {
            Check::pass(
                CheckKind::SignedDigest,
                "signed digest",
                format!("covers {digest}"),
            )
        } else {
            Check::fail(
                CheckKind::SignedDigest,
                "signed digest",
                ReasonCode::DigestMismatch,
                format!(
                    "it covers {}, not the image's {digest}: a signature of another build",
                    payload.manifest_digest()
                ),
            )
        }
        .expecting(digest.to_string(), payload.manifest_digest().to_string()),
    );

    steps.push(identity_check(cx, policy, payload));
    steps.extend(lifecycle_checks(cx, key, sig));
    if let Some(check) = age_check(cx, policy, sig, payload) {
        steps.push(check);
    }
    finish(steps)
}

fn identity_check(cx: &Context, policy: &Policy, payload: &SimpleSigningPayload) -> Check {
    let rule = policy.identity();
    let deployed = &cx.request.image;
    let subject = format!("identity ({rule})");
    let expected = match rule {
        IdentityRule::Ignore => {
            return Check::pass(
                CheckKind::Identity,
                subject,
                format!(
                    "not checked (policy {} ignores identities); the signature names {}",
                    policy.name(),
                    payload.docker_reference()
                ),
            )
        }
        IdentityRule::Repository => format!("{} (any tag)", deployed.name()),
        IdentityRule::Exact => match (deployed.tag(), deployed.digest()) {
            (None, Some(_)) => format!("{} (deployed by digest)", deployed.name()),
            (tag, _) => format!("{}:{}", deployed.name(), tag.unwrap_or("latest")),
        },
    };
    let found = payload.docker_reference().to_owned();
    if identity_matches(rule, deployed, payload.identity()) {
        Check::pass(CheckKind::Identity, subject, format!("names {found}"))
            .expecting(expected, found)
    } else {
        Check::fail(
            CheckKind::Identity,
            subject,
            ReasonCode::IdentityMismatch,
            format!(
                "it names {found}, but policy {} expects {expected}",
                policy.name()
            ),
        )
        .expecting(expected, found)
    }
}

fn lifecycle_checks(cx: &Context, key: &TrustedKey, sig: &SignatureEvidence) -> Vec<Check> {
    let recorded = sig.trusted_time();
    let mut checks = Vec::new();
    let status = "key status";
    checks.push(if key.status() == KeyStatus::Revoked {
        let when = key
            .revoked_at()
            .map(|t| format!(" at {}", time(t)))
            .unwrap_or_default();
        Check::fail(
            CheckKind::KeyStatus,
            status,
            ReasonCode::KeyRevoked,
            format!("key {} was revoked{when}", key.name()),
        )
    } else if let Some(since) = key.compromised_since() {
        // Only Trustwatch's own recorded time can show a signature predates the compromise: the
        // thief holds the key and can write any timestamp into a payload.
        match recorded {
            Some(at) if at < since => Check::pass(
                CheckKind::KeyStatus,
                status,
                format!(
                    "key {} is compromised since {}, but this signature was recorded at {}, before that",
                    key.name(),
                    time(since),
                    time(at)
                ),
            ),
            Some(at) => Check::fail(
                CheckKind::KeyStatus,
                status,
                ReasonCode::SignedAfterCompromise,
                format!(
                    "key {} is compromised since {}, and this signature was recorded at {}",
                    key.name(),
                    time(since),
                    time(at)
                ),
            )
            .expecting(format!("recorded before {}", time(since)), time(at)),
            None => Check::fail(
                CheckKind::KeyStatus,
                status,
                ReasonCode::SignedAfterCompromise,
                format!(
                    "key {} is compromised since {}, and nothing shows this signature is older (Trustwatch has no record of its signing)",
                    key.name(),
                    time(since)
                ),
            )
            .expecting(format!("recorded before {}", time(since)), "no recorded time"),
        }
    } else {
        Check::pass(
            CheckKind::KeyStatus,
            status,
            format!("key {} is {}", key.name(), key.status()),
        )
    });

    let at = recorded.unwrap_or(cx.now);
    let judged_at = if recorded.is_some() {
        format!("recorded at {}", time(at))
    } else {
        format!("judged now, {}, as no signing time is recorded", time(at))
    };
    let window = match key.valid_until() {
        Some(until) => format!("{} to {}", time(key.valid_from()), time(until)),
        None => format!("from {}", time(key.valid_from())),
    };
    checks.push(if key.is_valid_at(at) {
        Check::pass(
            CheckKind::ValidityWindow,
            "validity window",
            format!("key {} is valid {window}; {judged_at}", key.name()),
        )
    } else {
        Check::fail(
            CheckKind::ValidityWindow,
            "validity window",
            ReasonCode::OutsideValidityWindow,
            format!(
                "key {} is valid only {window}; signature {judged_at}",
                key.name()
            ),
        )
        .expecting(window.clone(), time(at))
    });
    checks
}

fn age_check(
    cx: &Context,
    policy: &Policy,
    sig: &SignatureEvidence,
    payload: &SimpleSigningPayload,
) -> Option<Check> {
    let max = policy.max_signature_age()?;
    let subject = format!("signature age (at most {max})");
    let signed = sig.trusted_time().map(|t| (t, "recorded")).or_else(|| {
        payload
            .timestamp()
            .map(|t| (t, "claimed by the payload's timestamp"))
    });
    Some(match signed {
        None => Check::fail(
            CheckKind::SignatureAge,
            subject,
            ReasonCode::OutsideValidityWindow,
            format!(
                "signing time unknown: policy {} limits signature age to {max}, and neither a recorded signing event nor a payload timestamp says when this signature was made",
                policy.name()
            ),
        ),
        Some((at, how)) => {
            let age = cx.now - at;
            if age > max.duration() {
                Check::fail(
                    CheckKind::SignatureAge,
                    subject,
                    ReasonCode::OutsideValidityWindow,
                    format!(
                        "signed {} ago ({how} {}); policy {} allows at most {max}",
                        humanize(age),
                        time(at),
                        policy.name()
                    ),
                )
                .expecting(format!("at most {max}"), humanize(age))
            } else {
                Check::pass(
                    CheckKind::SignatureAge,
                    subject,
                    format!("signed {} ago ({how} {})", humanize(age), time(at)),
                )
            }
        }
    })
}

/// A maximum matching of authorities (rows) to keys (their options): `result[a]` is the key
/// counted for authority `a`. Kuhn's augmenting paths; policies have a handful of authorities.
fn max_matching(options: &[Vec<usize>]) -> Vec<Option<usize>> {
    fn augment(
        a: usize,
        options: &[Vec<usize>],
        owner: &mut BTreeMap<usize, usize>,
        seen: &mut BTreeSet<usize>,
    ) -> bool {
        for &k in &options[a] {
            if seen.insert(k) {
                let free = match owner.get(&k) {
                    None => true,
                    Some(&other) => augment(other, options, owner, seen),
                };
                if free {
                    owner.insert(k, a);
                    return true;
                }
            }
        }
        false
    }
    let mut owner = BTreeMap::new();
    for a in 0..options.len() {
        augment(a, options, &mut owner, &mut BTreeSet::new());
    }
    let mut result = vec![None; options.len()];
    for (k, a) in owner {
        result[a] = Some(k);
    }
    result
}

/// The summary sentence and the remediation for a failing policy.
fn explain(
    cx: &Context,
    policy: &Policy,
    reason: ReasonCode,
    assignment: &[Option<usize>],
    options: &[Vec<usize>],
    judged: &[&Judged],
    wanted: &str,
) -> (String, Vec<String>) {
    let name = policy.name();
    let pinned = cx.pinned();
    let digest = cx.digest_text();
    let keys = cx.bundle.keys();
    let authorities = policy.authorities();
    let unsatisfied: Vec<&Authority> = authorities
        .iter()
        .zip(assignment)
        .filter(|(_, k)| k.is_none())
        .map(|(a, _)| a)
        .collect();
    let satisfied: Vec<&str> = assignment
        .iter()
        .flatten()
        .map(|&k| keys[k].name())
        .collect();

    let mut remediation = Vec::new();
    if reason == ReasonCode::DigestRequired {
        remediation.push(format!("pin the digest: {pinned}"));
    }
    let missing = policy.threshold().saturating_sub(satisfied.len());
    if missing > 0 {
        if unsatisfied.len() > missing {
            remediation.push(format!(
                "policy {name} needs {missing} more signature{} from: {}",
                plural(missing),
                list(unsatisfied.iter().map(|a| a.to_string()))
            ));
        }
        for authority in &unsatisfied {
            remediation.extend(sign_advice(cx, policy, authority, &pinned));
        }
    }
    if policy.identity() == IdentityRule::Exact
        && judged
            .iter()
            .any(|j| j.check.reason == Some(ReasonCode::IdentityMismatch))
    {
        remediation.push(format!(
            "policy {name} compares identities exactly: the signature must name {}, e.g. `cosign sign --sign-container-identity {} …` or skopeo's --sign-identity",
            cx.request.image, cx.request.image
        ));
    }

    // The failing signature to talk about: the one whose failure is the reason.
    let culprit = judged
        .iter()
        .filter(|j| !j.passed())
        .max_by_key(|j| j.check.reason.map_or(0, severity));
    let summary = match reason {
        ReasonCode::DigestRequired => format!(
            "Policy {name} requires deploying by digest, and {} is deployed by tag.",
            cx.request.image
        ),
        ReasonCode::Unsigned => format!(
            "No signature found for {pinned}; policy {name} {wanted}."
        ),
        ReasonCode::UnknownKey => format!(
            "No signature from an authority of policy {name} ({wanted}); {digest} is signed only by keys the policy does not trust."
        ),
        ReasonCode::ThresholdNotMet => {
            let found = satisfied.len();
            let pending: Vec<String> = unsatisfied
                .iter()
                .zip(options.iter().zip(assignment).filter(|(_, k)| k.is_none()).map(|(o, _)| o))
                .map(|(a, o)| {
                    if o.is_empty() {
                        format!("{a} has not signed {digest}")
                    } else {
                        format!("{a} signed only with a key that already counts for another authority")
                    }
                })
                .collect();
            format!(
                "Not enough signatures for policy {name} ({wanted}); found {found} valid signature{} from {}; {}.",
                plural(found),
                list(satisfied.iter().map(|s| s.to_string())),
                pending.join("; ")
            )
        }
        _ => match culprit {
            Some(j) => {
                // The step that failed for the reason given, not every step that failed.
                let because = j
                    .check
                    .children
                    .iter()
                    .find(|c| c.reason == j.check.reason)
                    .map_or(j.check.detail.as_str(), |c| c.detail.as_str());
                let others = j
                    .check
                    .children
                    .iter()
                    .filter(|c| !c.passed)
                    .count()
                    .saturating_sub(1);
                let more = match others {
                    0 => String::new(),
                    n => format!(" (and {n} more problem{} with it)", plural(n)),
                };
                format!(
                    "No valid signature from an authority of policy {name} ({wanted}): the signature by {} was refused because {because}{more}.",
                    keys[j.key].name(),
                )
            }
            None => format!("Policy {name} is not satisfied ({wanted})."),
        },
    };
    (summary, dedup(remediation))
}

/// How to get a signature from `authority`: the command, and who holds the key.
fn sign_advice(cx: &Context, policy: &Policy, authority: &Authority, pinned: &str) -> Vec<String> {
    let usable = |k: &&TrustedKey| k.may_sign_at(cx.now);
    match authority {
        Authority::Key(name) => match cx.bundle.key(name) {
            None => vec![format!(
                "key {name} is not in the trust bundle: ask the security team to fix policy {}",
                policy.name()
            )],
            Some(key) if key.may_sign_at(cx.now) => vec![
                format!("trustwatch sign --key {} {}", shell_word(name), shell_word(pinned)),
                format!("ask team {} to sign with {name}", key.owner_team()),
            ],
            Some(key) => vec![format!(
                "key {name} cannot sign now ({}): ask team {} and the security team to rotate it and update policy {}",
                unusable_because(key, cx.now),
                key.owner_team(),
                policy.name()
            )],
        },
        Authority::Group(group) => {
            let members: Vec<&TrustedKey> = cx
                .bundle
                .key_group(group)
                .map(|g| g.keys().iter().filter_map(|k| cx.bundle.key(k)).collect())
                .unwrap_or_default();
            match members.iter().copied().find(usable) {
                Some(key) => {
                    let others: Vec<&str> = members
                        .iter()
                        .copied()
                        .filter(usable)
                        .map(|k| k.name())
                        .collect();
                    vec![
                        format!(
                            "trustwatch sign --key {} {}",
                            shell_word(key.name()),
                            shell_word(pinned)
                        ),
                        format!(
                            "ask team {} to sign with {} (any key of group {group} counts: {})",
                            key.owner_team(),
                            key.name(),
                            others.join(", ")
                        ),
                    ]
                }
                None => vec![format!(
                    "no key of group {group} can sign now: ask the security team to add an active key to it"
                )],
            }
        }
    }
}

fn unusable_because(key: &TrustedKey, now: DateTime<Utc>) -> String {
    if key.compromised_since().is_some() || key.status() == KeyStatus::Compromised {
        "compromised".to_owned()
    } else if key.status() != KeyStatus::Active {
        key.status().to_string()
    } else if now < key.valid_from() {
        format!("valid only from {}", time(key.valid_from()))
    } else {
        "past its validity window".to_owned()
    }
}

/// All matching policies' outcomes into one decision.
fn combine(outcomes: Vec<PolicyOutcome>, mut warnings: Vec<String>) -> Decision {
    let failing_in = |mode: Mode| -> Vec<&PolicyOutcome> {
        outcomes
            .iter()
            .filter(|o| !o.passed && o.policy.mode() == mode)
            .collect()
    };
    let (enforced, warned, audited) = (
        failing_in(Mode::Enforce),
        failing_in(Mode::Warn),
        failing_in(Mode::Audit),
    );
    for o in &outcomes {
        warnings.extend(o.notes.iter().cloned());
    }
    // A warn-mode policy speaks up even when an enforced one refuses the image: both need
    // fixing, and the developer should hear about both at once.
    for o in &warned {
        warnings.push(format!(
            "policy {} (warn mode) would refuse this image ({}): {}",
            o.policy.name(),
            o.reason,
            o.summary
        ));
    }
    let remediation_of = |groups: &[&Vec<&PolicyOutcome>]| {
        dedup(
            groups
                .iter()
                .flat_map(|g| g.iter())
                .flat_map(|o| o.remediation.iter().cloned())
                .collect(),
        )
    };
    let would_refuse = |failing: &[&PolicyOutcome], mode: Mode| {
        let names = list(failing.iter().map(|o| o.policy.name().to_owned()));
        let first = failing.first().map_or("", |o| o.summary.as_str());
        format!("Admitted, but policy {names} ({mode} mode) would refuse it: {first}")
    };

    let (allowed, reason, mode, summary, remediation) = if let Some(first) = enforced.first() {
        let others = enforced.len() - 1;
        let summary = match others {
            0 => first.summary.clone(),
            1 => format!("{} 1 more enforced policy also refuses it.", first.summary),
            n => format!(
                "{} {n} more enforced policies also refuse it.",
                first.summary
            ),
        };
        (
            false,
            first.reason,
            Mode::Enforce,
            summary,
            remediation_of(&[&enforced, &warned]),
        )
    } else if !warned.is_empty() {
        (
            true,
            ReasonCode::Admitted,
            Mode::Warn,
            would_refuse(&warned, Mode::Warn),
            remediation_of(&[&warned]),
        )
    } else if !audited.is_empty() {
        // Audit mode is silent towards the developer: the failure is in the checks only.
        (
            true,
            ReasonCode::Admitted,
            Mode::Audit,
            would_refuse(&audited, Mode::Audit),
            Vec::new(),
        )
    } else {
        let satisfied: Vec<&str> = outcomes.iter().map(|o| o.summary.as_str()).collect();
        (
            true,
            ReasonCode::Admitted,
            Mode::Enforce,
            format!("Admitted: {}.", satisfied.join("; ")),
            Vec::new(),
        )
    };
    Decision {
        allowed,
        reason,
        mode,
        summary,
        checks: outcomes.into_iter().map(|o| o.check).collect(),
        warnings: dedup(warnings),
        remediation,
    }
}

/// The decision for an image no policy covers.
fn default_decision(request: &AdmissionRequest, bundle: &TrustBundle) -> Decision {
    let action = bundle.default_action();
    let scope = format!(
        "No policy covers {} in cluster {}, namespace {}",
        request.image.name(),
        request.cluster,
        request.namespace
    );
    let detail = format!("{scope}; the default action is {}", action.as_str());
    let ask = format!(
        "ask the security team to add a policy covering {} (or deploy an image a policy covers)",
        request.image.name()
    );
    match action {
        DefaultAction::Deny => Decision {
            allowed: false,
            reason: ReasonCode::NoMatchingPolicy,
            mode: Mode::Enforce,
            summary: format!("{scope}, and the default is to refuse it."),
            checks: vec![Check::fail(
                CheckKind::DefaultAction,
                "default action",
                ReasonCode::NoMatchingPolicy,
                detail,
            )],
            warnings: Vec::new(),
            remediation: vec![ask],
        },
        DefaultAction::Warn => Decision {
            allowed: true,
            reason: ReasonCode::Admitted,
            mode: Mode::Warn,
            summary: format!("Admitted with a warning: {scope}."),
            checks: vec![Check::fail(
                CheckKind::DefaultAction,
                "default action",
                ReasonCode::NoMatchingPolicy,
                detail,
            )],
            warnings: vec![format!(
                "{scope}; it was admitted because the default is to warn"
            )],
            remediation: vec![ask],
        },
        DefaultAction::Allow => Decision {
            allowed: true,
            reason: ReasonCode::Admitted,
            mode: Mode::Enforce,
            summary: format!("Admitted: {scope}, and the default is to allow it."),
            checks: vec![Check::pass(
                CheckKind::DefaultAction,
                "default action",
                detail,
            )],
            warnings: Vec::new(),
            remediation: Vec::new(),
        },
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// `s` as one word for a POSIX shell, quoted only when it needs to be, so the commands in a
/// remediation can be pasted as they are.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '+' | '=' | ',')
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
