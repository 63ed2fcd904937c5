//! Connaisseur's alert webhook payload, turned into verification events.
//!
//! Connaisseur renders an alert template with the variables `alert_message`, `priority`,
//! `connaisseur_pod_id`, `cluster`, `namespace` (newer releases), `timestamp`, `request_id` and
//! `images`; a template that puts each variable under its own name gives the payload read here
//! (see `docs/ingestion.md`). One event per image. Connaisseur's alerts say whether a request was
//! admitted or rejected, not why, so a rejection is `unclassified` with the alert text kept.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::wire::{RawVerificationEvent, RawWorkload};
use crate::ParseError;

#[derive(Debug, Clone, Deserialize)]
pub struct ConnaisseurAlert {
    pub alert_message: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub timestamp: Option<String>,
    pub request_id: Option<String>,
    /// A list, or Connaisseur's rendering of one (`['a:1', 'b:2']`), or space-separated names.
    pub images: Option<Value>,
    pub connaisseur_pod_id: Option<String>,
}

impl ConnaisseurAlert {
    /// The events this alert describes. `bound_cluster` wins over the payload's cluster name,
    /// which Connaisseur takes from its own `CLUSTER_NAME` setting.
    pub fn events(
        &self,
        bound_cluster: Option<&str>,
        received: DateTime<Utc>,
    ) -> Result<Vec<RawVerificationEvent>, ParseError> {
        let message = self.alert_message.clone().unwrap_or_default();
        let lower = message.to_lowercase();
        let outcome = if lower.contains("admitted") {
            "admitted"
        } else if lower.contains("rejected") || lower.contains("denied") {
            "rejected"
        } else {
            return Err(ParseError::new(format!(
                "alert_message {message:?} says neither admitted nor rejected"
            )));
        };
        let images = images(self.images.as_ref());
        if images.is_empty() {
            return Err(ParseError::new("images is empty; nothing to record"));
        }
        let cluster = bound_cluster
            .map(str::to_owned)
            .or_else(|| self.cluster.clone().filter(|c| !c.is_empty()));
        let observed = self
            .timestamp
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(received)
            .to_rfc3339();
        let request = self.request_id.clone().unwrap_or_default();
        Ok(images
            .into_iter()
            .map(|image| RawVerificationEvent {
                id: Some(crate::wire::derived_event_id(
                    "connaisseur",
                    &[
                        cluster.as_deref().unwrap_or_default(),
                        &request,
                        &image,
                        &observed,
                    ],
                )),
                cluster: cluster.clone(),
                namespace: Some(
                    self.namespace
                        .clone()
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "_unknown".into()),
                ),
                workload: RawWorkload {
                    kind: Some("AdmissionRequest".into()),
                    name: Some(if request.is_empty() {
                        "unknown".into()
                    } else {
                        request.clone()
                    }),
                },
                image: Some(image),
                digest: None,
                outcome: Some(outcome.into()),
                reason: Some(
                    if outcome == "admitted" {
                        "admitted"
                    } else {
                        "unclassified"
                    }
                    .into(),
                ),
                engine: Some("connaisseur".into()),
                policy: None,
                message: Some(message.clone()),
                checks: None,
                remediation: Vec::new(),
                keys: vec![],
                observed_at: Some(observed.clone()),
            })
            .collect())
    }
}

fn images(v: Option<&Value>) -> Vec<String> {
    let names: Vec<String> = match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split([',', ' '])
            .map(|p| p.trim().trim_matches(['\'', '"']).to_owned())
            .collect(),
        _ => vec![],
    };
    let mut names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    names.dedup();
    names
}

/// RFC 3339, or Python's `str(datetime)` (`2026-11-25 10:00:00.123456`), taken as UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
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

    fn alert(v: Value) -> ConnaisseurAlert {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_rejection_alert_gives_one_event_per_image() {
        let a = alert(json!({
            "alert_message": "CONNAISSEUR rejected a request", "priority": "3", "connaisseur_pod_id": "connaisseur-7d9",
            "cluster": "dev-1", "namespace": "web", "timestamp": "2026-11-25 10:00:00.123456",
            "request_id": "3a1b", "images": "['docker.io/securesystemsengineering/testimage:unsigned', 'docker.io/library/redis:7']"
        }));
        let events = a.events(None, now()).unwrap();
        assert_eq!(events.len(), 2);
        let e = events[0].validate(now(), None).unwrap();
        assert_eq!(e.cluster, "dev-1");
        assert_eq!(e.outcome, crate::Outcome::Rejected);
        assert_eq!(e.reason, crate::ReasonCode::Unclassified);
        assert_eq!(e.engine, crate::Engine::Connaisseur);
        assert_eq!(e.namespace, "web");
        assert_eq!(
            e.observed_at.to_rfc3339(),
            "2026-11-25T10:00:00.123456+00:00"
        );
        assert_eq!(
            e.image.to_string(),
            "docker.io/securesystemsengineering/testimage:unsigned"
        );
        let again = a.events(None, now()).unwrap();
        assert_eq!(events[0].id, again[0].id, "stable ids");
        assert_ne!(events[0].id, events[1].id);
    }

    #[test]
    fn admitted_lists_and_bound_clusters() {
        let a = alert(
            json!({"alert_message": "CONNAISSEUR admitted a request", "images": ["reg.io/a:1"], "cluster": "x"}),
        );
        let e = a.events(Some("prod-eu-1"), now()).unwrap()[0]
            .validate(now(), Some("prod-eu-1"))
            .unwrap();
        assert_eq!(e.outcome, crate::Outcome::Admitted);
        assert_eq!(e.cluster, "prod-eu-1");
        assert_eq!(e.observed_at, now());
    }

    #[test]
    fn unusable_alerts_are_refused() {
        assert!(alert(json!({"alert_message": "hello", "images": ["a"]}))
            .events(None, now())
            .is_err());
        assert!(
            alert(json!({"alert_message": "CONNAISSEUR admitted a request"}))
                .events(None, now())
                .is_err()
        );
    }
}
