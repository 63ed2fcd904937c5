//! `GET /metrics` in Prometheus' text format, for a scraper holding a `read` token.

use app::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use domain::TokenScope;

use super::api_v1::problem::Problem;
use super::api_v1::Bearer;

pub async fn metrics(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, Problem> {
    bearer.require(TokenScope::Read)?;
    let now = chrono::Utc::now();
    let overview = service::overview::load(&state.pool, now).await?;
    let mut out = String::new();
    out.push_str(
        "# HELP trustwatch_build_info Trustwatch version.\n# TYPE trustwatch_build_info gauge\n",
    );
    out.push_str(&format!(
        "trustwatch_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str("# HELP trustwatch_admissions_24h Admissions observed in the last 24 hours.\n# TYPE trustwatch_admissions_24h gauge\n");
    for c in &overview.clusters {
        for (outcome, n) in [
            ("admitted", c.admitted),
            ("rejected", c.rejected),
            ("warned", c.warned),
            ("error", c.error),
        ] {
            out.push_str(&format!(
                "trustwatch_admissions_24h{{cluster=\"{}\",outcome=\"{outcome}\"}} {n}\n",
                c.name
            ));
        }
    }
    out.push_str("# HELP trustwatch_cluster_last_report_age_seconds Seconds since each cluster last reported.\n# TYPE trustwatch_cluster_last_report_age_seconds gauge\n");
    for c in &overview.clusters {
        if let Some(t) = c.last_report_at {
            out.push_str(&format!(
                "trustwatch_cluster_last_report_age_seconds{{cluster=\"{}\"}} {}\n",
                c.name,
                (now - t).num_seconds()
            ));
        }
    }
    admissions_by_reason(&mut out, &state, now).await?;
    ingestion(&mut out);
    admission_review_latency(&mut out);
    trust_bundle_version(&mut out, &state).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// Label values as the text format wants them: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn admissions_by_reason(
    out: &mut String,
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Problem> {
    let rows = service::trends::admissions_by_reason(&state.pool, now).await?;
    out.push_str("# HELP trustwatch_admissions_by_reason_24h Admissions observed in the last 24 hours (the current hour and the 23 before it) per cluster, outcome and reason code, from the hourly rollup: a gauge over a sliding window, not a counter.\n# TYPE trustwatch_admissions_by_reason_24h gauge\n");
    for (cluster, outcome, reason, n) in rows {
        out.push_str(&format!(
            "trustwatch_admissions_by_reason_24h{{cluster=\"{}\",outcome=\"{}\",reason=\"{}\"}} {n}\n",
            label(&cluster),
            label(&outcome),
            label(&reason)
        ));
    }
    Ok(())
}

fn ingestion(out: &mut String) {
    use crate::instruments::{IngestKind, INGESTION};
    use std::sync::atomic::Ordering;

    out.push_str("# HELP trustwatch_ingest_batch_duration_seconds Time to store one validated batch of reported events, by this process since it started.\n# TYPE trustwatch_ingest_batch_duration_seconds histogram\n");
    for kind in IngestKind::ALL {
        INGESTION.batch_seconds[kind.index()].write(
            out,
            "trustwatch_ingest_batch_duration_seconds",
            &format!("kind=\"{}\"", kind.as_str()),
        );
    }
    out.push_str("# HELP trustwatch_ingested_events_total Reported events stored by this process since it started: accepted (new) or duplicate (sent before, stored once).\n# TYPE trustwatch_ingested_events_total counter\n");
    for kind in IngestKind::ALL {
        for (result, n) in [
            ("accepted", &INGESTION.accepted[kind.index()]),
            ("duplicate", &INGESTION.duplicates[kind.index()]),
        ] {
            out.push_str(&format!(
                "trustwatch_ingested_events_total{{kind=\"{}\",result=\"{result}\"}} {}\n",
                kind.as_str(),
                n.load(Ordering::Relaxed)
            ));
        }
    }
}

fn admission_review_latency(out: &mut String) {
    out.push_str("# HELP trustwatch_admission_review_duration_seconds Handling time of each admission review at /k8s/admission, answer of any kind, by this process since it started.\n# TYPE trustwatch_admission_review_duration_seconds histogram\n");
    crate::instruments::ADMISSION_REVIEW.write(
        out,
        "trustwatch_admission_review_duration_seconds",
        "",
    );
}

async fn trust_bundle_version(out: &mut String, state: &AppState) -> Result<(), Problem> {
    if let Some(head) = service::trust_bundle::head(&state.pool).await? {
        out.push_str("# HELP trustwatch_trust_bundle_version The newest published trust-bundle version.\n# TYPE trustwatch_trust_bundle_version gauge\n");
        out.push_str(&format!(
            "trustwatch_trust_bundle_version {}\n",
            head.version
        ));
    }
    Ok(())
}
