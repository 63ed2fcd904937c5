//! Kyverno `PolicyReport`/`ClusterPolicyReport` (`wgpolicyk8s.io/v1alpha2`) and OpenReports
//! `Report`/`ClusterReport` (`openreports.io/v1alpha1`), turned into verification events.
//!
//! Only image-verification results become events (`verified image signatures for …`, `failed to
//! verify image …`); other policy results are counted as skipped. Each result gets an id derived
//! from what identifies it (report, policy, rule, resource, time, verdict), so sending the same
//! report again stores nothing new.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::wire::{RawVerificationEvent, RawWorkload};
use crate::ParseError;

/// The results of one or more reports, as events to validate and store.
#[derive(Debug, Default)]
pub struct ReportEvents {
    pub events: Vec<RawVerificationEvent>,
    /// Results that were not about image verification.
    pub skipped: usize,
}

const KINDS: &[&str] = &[
    "PolicyReport",
    "ClusterPolicyReport",
    "Report",
    "ClusterReport",
];

/// Reads a report, or a list of reports (`…List` or `List` with `items`), for `cluster`.
/// `received` stands in for a result without a timestamp.
pub fn events_from_reports(
    doc: &Value,
    cluster: &str,
    received: DateTime<Utc>,
) -> Result<ReportEvents, ParseError> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let mut out = ReportEvents::default();
    if kind == "List" || kind.ends_with("List") {
        let items = doc
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| ParseError::new(format!("a {kind} needs an items list")))?;
        for (i, item) in items.iter().enumerate() {
            read_report(item, cluster, received, &mut out)
                .map_err(|e| ParseError::new(format!("items[{i}]: {}", e.0)))?;
        }
    } else {
        read_report(doc, cluster, received, &mut out)?;
    }
    Ok(out)
}

fn read_report(
    doc: &Value,
    cluster: &str,
    received: DateTime<Utc>,
    out: &mut ReportEvents,
) -> Result<(), ParseError> {
    let api = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !(api.starts_with("wgpolicyk8s.io/") || api.starts_with("openreports.io/"))
        || !KINDS.contains(&kind)
    {
        return Err(ParseError::new(format!(
            "expected a PolicyReport, ClusterPolicyReport (wgpolicyk8s.io) or Report, ClusterReport (openreports.io); got {kind:?} of {api:?}"
        )));
    }
    let meta = doc.get("metadata").cloned().unwrap_or(Value::Null);
    let report_id = [
        str_at(&meta, "uid"),
        str_at(&meta, "namespace"),
        str_at(&meta, "name"),
    ]
    .join("/");
    let scope = doc.get("scope").cloned().unwrap_or(Value::Null);
    let created = str_at(&meta, "creationTimestamp");
    let results = match doc.get("results") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(r)) => r,
        Some(_) => return Err(ParseError::new("results must be a list")),
    };
    for result in results {
        let message = str_at(result, "message");
        let verdict = str_at(result, "result");
        let Some((image, outcome)) = image_result(&message, &verdict) else {
            out.skipped += 1;
            continue;
        };
        // The resource: the report's scope (Kyverno ≥ 1.10), else the result's first resource.
        let resource = if scope.is_object() {
            scope.clone()
        } else {
            result
                .get("resources")
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .cloned()
                .unwrap_or(Value::Null)
        };
        let namespace = [str_at(&resource, "namespace"), str_at(&meta, "namespace")]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or_else(|| "_cluster".into());
        let observed = timestamp(result)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| {
                if created.is_empty() {
                    received.to_rfc3339()
                } else {
                    created.clone()
                }
            });
        let policy = str_at(result, "policy");
        let rule = str_at(result, "rule");
        let id = crate::wire::derived_event_id(
            "policy-report",
            &[
                cluster,
                &report_id,
                &policy,
                &rule,
                &str_at(&resource, "uid"),
                &str_at(&resource, "kind"),
                &str_at(&resource, "name"),
                &namespace,
                &observed,
                &verdict,
                &image,
            ],
        );
        let source = str_at(result, "source");
        let engine = if crate::Engine::parse(&source).is_ok() {
            source
        } else {
            "kyverno".into()
        };
        let reason = if outcome == "admitted" {
            "admitted".to_owned()
        } else {
            crate::classify::classify(&message)
                .reason
                .as_str()
                .to_owned()
        };
        out.events.push(RawVerificationEvent {
            id: Some(id),
            cluster: Some(cluster.to_owned()),
            namespace: Some(namespace),
            workload: RawWorkload {
                kind: Some(non_empty(str_at(&resource, "kind"), "Unknown")),
                name: Some(non_empty(str_at(&resource, "name"), "unknown")),
            },
            image: Some(image),
            digest: None,
            outcome: Some(outcome.to_owned()),
            reason: Some(reason),
            engine: Some(engine),
            policy: (!policy.is_empty()).then_some(if rule.is_empty() {
                policy
            } else {
                format!("{policy}/{rule}")
            }),
            message: (!message.is_empty()).then_some(message),
            checks: None,
            remediation: Vec::new(),
            keys: vec![],
            observed_at: Some(observed),
        });
    }
    Ok(())
}

/// The image and outcome of an image-verification result, or `None` for any other result.
fn image_result(message: &str, verdict: &str) -> Option<(String, &'static str)> {
    let image = if let Some(rest) = message.strip_prefix("verified image signatures for ") {
        rest.split_whitespace()
            .next()?
            .trim_end_matches(['.', ','])
            .to_owned()
    } else if let Some(i) = message.find("failed to verify image ") {
        let rest = &message[i + "failed to verify image ".len()..];
        rest.split(": ").next()?.trim().to_owned()
    } else {
        return None;
    };
    let outcome = match verdict {
        "pass" => "admitted",
        "fail" => "rejected",
        "warn" => "warned",
        "error" => "error",
        _ => return None,
    };
    (!image.is_empty()).then_some((image, outcome))
}

fn timestamp(result: &Value) -> Option<DateTime<Utc>> {
    let ts = result.get("timestamp")?;
    let seconds = ts.get("seconds")?.as_i64()?;
    let nanos = ts
        .get("nanos")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(999_999_999) as u32;
    DateTime::from_timestamp(seconds, nanos)
}

fn str_at(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn non_empty(s: String, default: &str) -> String {
    if s.is_empty() {
        default.to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn report() -> Value {
        json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {"name": "6c6f8b9e", "namespace": "payments", "uid": "r-1", "creationTimestamp": "2026-11-25T09:00:00Z"},
            "scope": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "namespace": "payments", "uid": "w-1"},
            "results": [
                {"policy": "check-image", "rule": "verify-image", "result": "pass", "source": "kyverno",
                 "message": "verified image signatures for registry.example.com/payments/api:1.4.2",
                 "timestamp": {"seconds": 1764064800, "nanos": 0}},
                {"policy": "check-image", "rule": "verify-image", "result": "fail", "source": "kyverno",
                 "message": "failed to verify image registry.example.com/payments/worker:2.0: .attestors[0].entries[0].keys: no signatures found",
                 "timestamp": {"seconds": 1764064900, "nanos": 0}},
                {"policy": "require-labels", "rule": "check-team", "result": "fail", "source": "kyverno",
                 "message": "validation error: label team is required"}
            ]
        })
    }

    #[test]
    fn image_verification_results_become_events() {
        let out = events_from_reports(&report(), "prod-eu-1", now()).unwrap();
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.skipped, 1);
        let pass = out.events[0].validate(now(), None).unwrap();
        assert_eq!(pass.outcome, crate::Outcome::Admitted);
        assert_eq!(pass.workload_name, "api");
        assert_eq!(pass.policy.as_deref(), Some("check-image/verify-image"));
        let fail = out.events[1].validate(now(), None).unwrap();
        assert_eq!(fail.reason, crate::ReasonCode::Unsigned);
        assert_eq!(
            fail.image.to_string(),
            "registry.example.com/payments/worker:2.0"
        );
        assert_eq!(fail.observed_at.timestamp(), 1764064900);
    }

    #[test]
    fn the_same_report_gives_the_same_ids() {
        let a = events_from_reports(&report(), "prod-eu-1", now()).unwrap();
        let b = events_from_reports(&report(), "prod-eu-1", now()).unwrap();
        let ids = |r: &ReportEvents| r.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(a.events[0].id, a.events[1].id);
        let other = events_from_reports(&report(), "prod-us-1", now()).unwrap();
        assert_ne!(
            ids(&a),
            ids(&other),
            "another cluster's report is another event"
        );
    }

    #[test]
    fn lists_and_openreports_and_legacy_resources() {
        let mut open = report();
        open["apiVersion"] = json!("openreports.io/v1alpha1");
        open["kind"] = json!("Report");
        let mut legacy = report();
        legacy["kind"] = json!("ClusterPolicyReport");
        legacy.as_object_mut().unwrap().remove("scope");
        legacy["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        legacy["results"][1]["resources"] =
            json!([{"kind": "Pod", "name": "worker-1", "namespace": "jobs", "uid": "p-1"}]);
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [open, legacy]});
        let out = events_from_reports(&list, "prod-eu-1", now()).unwrap();
        assert_eq!(out.events.len(), 4);
        let legacy_fail = out.events[3].validate(now(), None).unwrap();
        assert_eq!(legacy_fail.namespace, "jobs");
        assert_eq!(legacy_fail.workload_kind, "Pod");
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(events_from_reports(
            &json!({"kind": "Deployment", "apiVersion": "apps/v1"}),
            "c",
            now()
        )
        .is_err());
        assert!(events_from_reports(&json!({"kind": "List"}), "c", now()).is_err());
        assert!(events_from_reports(&json!(null), "c", now()).is_err());
        let mut bad = report();
        bad["results"] = json!("nope");
        assert!(events_from_reports(&bad, "c", now()).is_err());
    }
}
