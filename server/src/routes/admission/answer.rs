//! The answer to a review, written for the developer who ran `kubectl apply`: which image was
//! refused, why, the exact commands that fix it and where the whole story is.

use std::time::Duration;

use domain::admission_review::{truncate_chars, ContainerImage, ReviewRequest, ReviewResponse};
use domain::{Outcome, ParseError, ReasonCode};
use service::verifier::{FailurePolicy, VerdictWithEvidence};
use uuid::Uuid;

/// HTTP status of a refusal, as the client sees it.
const REFUSED: u16 = 403;
/// The refusal message is cut here; the rejection's page has the rest.
const MAX_MESSAGE_CHARS: usize = 8 * 1024;
/// One refused image's summary is cut here, so several images fit.
const MAX_SUMMARY_CHARS: usize = 1200;

/// One distinct image, the containers that run it, its verdict and its stored event.
pub(super) struct Judged<'a> {
    pub containers: Vec<&'a ContainerImage>,
    pub verdict: VerdictWithEvidence,
    /// `None` for a dry run, which is not recorded.
    pub event: Option<Uuid>,
}

/// Where a recorded decision can be read.
pub(super) struct Links<'a> {
    public_url: Option<&'a str>,
}

impl<'a> Links<'a> {
    pub fn new(public_url: Option<&'a str>) -> Self {
        Self { public_url }
    }

    fn to(&self, event: Option<Uuid>) -> String {
        match (event, self.public_url) {
            (Some(id), Some(url)) => format!("{url}/rejections/{id}"),
            (Some(id), None) => format!("event {id} on Trustwatch's Rejections page"),
            (None, _) => "not recorded (dry run)".to_owned(),
        }
    }
}

/// The image as the object spells it, with the containers that run it.
fn label(j: &Judged) -> String {
    let image = j.containers.first().map_or_else(
        || j.verdict.request.image.to_string(),
        |c| c.image().to_owned(),
    );
    let names: Vec<&str> = j.containers.iter().map(|c| c.name()).collect();
    match names.as_slice() {
        [one] => format!("{image} (container {one})"),
        many => format!("{image} (containers {})", many.join(", ")),
    }
}

fn object(review: &ReviewRequest) -> String {
    let kind = &review.kind().kind;
    match (review.namespace(), review.name()) {
        ("", name) => format!("{kind} {name}"),
        (ns, name) => format!("{kind} {ns}/{name}"),
    }
}

/// Short enough for a warning: the reference without a digest when there is a tag.
fn short(j: &Judged) -> String {
    let image = &j.verdict.request.image;
    match image.tag() {
        Some(tag) => format!("{}:{tag}", image.name()),
        None => image.to_string(),
    }
}

pub(super) fn answer(
    review: &ReviewRequest,
    judged: &[Judged],
    unparsable: &[(&ContainerImage, &ParseError)],
    links: &Links,
    bundle_version: u64,
) -> ReviewResponse {
    let refused: Vec<&Judged> = judged
        .iter()
        .filter(|j| !j.verdict.decision.allowed)
        .collect();
    let total = judged.len() + unparsable.len();
    let mut response = if refused.is_empty() && unparsable.is_empty() {
        ReviewResponse::allow(review.uid())
    } else {
        let mut message = format!(
            "Trustwatch refused {}: {} of {total} image{} failed verification.",
            object(review),
            refused.len() + unparsable.len(),
            if total == 1 { "" } else { "s" },
        );
        let mut left_out = 0;
        for (c, e) in unparsable {
            let block = format!(
                "\n- container {} ({}): {:?} is not an image reference Trustwatch can verify: {e}",
                c.name(),
                c.path(),
                c.image()
            );
            push_block(&mut message, &block, &mut left_out);
        }
        for j in &refused {
            let d = &j.verdict.decision;
            let mut block = format!(
                "\n- {}: {}. {}",
                label(j),
                d.reason,
                truncate_chars(&d.summary, MAX_SUMMARY_CHARS)
            );
            for fix in &d.remediation {
                block.push_str(&format!("\n  To fix: {fix}"));
            }
            block.push_str(&format!("\n  Details: {}", links.to(j.event)));
            push_block(&mut message, &block, &mut left_out);
        }
        if left_out > 0 {
            message.push_str(&format!(
                "\n… and {left_out} more; Trustwatch's Rejections page has every one."
            ));
        }
        ReviewResponse::refuse(review.uid(), REFUSED, message)
    };

    for j in judged {
        let v = &j.verdict;
        match v.outcome {
            Outcome::Warned => response.warn(&format!(
                "{}: {} (policy {}, warn mode); see {}",
                short(j),
                v.event_reason(),
                v.policies.first().map_or("default", String::as_str),
                links.to(j.event)
            )),
            Outcome::Error => response.warn(&format!(
                "{}: admitted unverified, {}; see {}",
                short(j),
                v.event_reason(),
                links.to(j.event)
            )),
            Outcome::Admitted | Outcome::Rejected => {}
        }
        for w in &v.decision.warnings {
            // The warn-mode refusal and the failure policy's note are said above, with a link.
            if w.contains("(warn mode) would refuse") || w.starts_with("admitted unverified") {
                continue;
            }
            response.warn(&format!("{}: {w}", short(j)));
        }
    }

    let (decision, reason) = match (refused.first(), unparsable.is_empty()) {
        (Some(j), _) => ("refused", j.verdict.decision.reason.as_str()),
        (None, false) => ("refused", "invalid_image"),
        (None, true) => match judged
            .iter()
            .find(|j| j.verdict.outcome != Outcome::Admitted)
        {
            Some(j) => ("warned", j.verdict.event_reason().as_str()),
            None => ("allowed", ReasonCode::Admitted.as_str()),
        },
    };
    annotate(&mut response, decision, reason, Some(bundle_version));
    response
}

fn push_block(message: &mut String, block: &str, left_out: &mut usize) {
    if *left_out > 0 || message.chars().count() + block.chars().count() > MAX_MESSAGE_CHARS {
        *left_out += 1;
    } else {
        message.push_str(block);
    }
}

fn annotate(response: &mut ReviewResponse, decision: &str, reason: &str, version: Option<u64>) {
    // The keys are constants that are valid annotation keys.
    let _ = response.annotate("decision", decision);
    let _ = response.annotate("reason", reason);
    if let Some(v) = version {
        let _ = response.annotate("bundle-version", v.to_string());
    }
}

/// No trust bundle has been published: nothing can be verified, so nothing is admitted.
pub(super) fn without_bundle(review: &ReviewRequest) -> ReviewResponse {
    let mut r = ReviewResponse::refuse(
        review.uid(),
        REFUSED,
        format!(
            "Trustwatch refused {}: no trust bundle has been published yet, so no image can be verified. \
             Ask the Trustwatch operators to publish one (it is published when keys or policies are first saved).",
            object(review)
        ),
    );
    annotate(
        &mut r,
        "refused",
        ReasonCode::NoMatchingPolicy.as_str(),
        None,
    );
    r
}

/// The review ran out of time: the failure policy decides.
pub(super) fn past_deadline(
    review: &ReviewRequest,
    deadline: Duration,
    policy: FailurePolicy,
) -> ReviewResponse {
    let why = format!(
        "Trustwatch could not verify the images of {} within {} ms (a registry or its database is slow)",
        object(review),
        deadline.as_millis()
    );
    let mut r = match policy {
        FailurePolicy::Fail => ReviewResponse::refuse(
            review.uid(),
            REFUSED,
            format!(
                "{why}; admission_failure_policy is fail, so it is refused. Try again shortly."
            ),
        ),
        FailurePolicy::Ignore => {
            let mut r = ReviewResponse::allow(review.uid());
            r.warn(&format!(
                "{why}; admitted unverified (admission_failure_policy is ignore)"
            ));
            r
        }
    };
    let decision = if policy == FailurePolicy::Fail {
        "refused"
    } else {
        "warned"
    };
    annotate(
        &mut r,
        decision,
        ReasonCode::RegistryUnreachable.as_str(),
        None,
    );
    r
}
