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
    // Alerts (service::alerts): every rule, zero included, so a rate query never sees a gap.
    out.push_str("# HELP trustwatch_alerts_open Alerts not yet acknowledged, by rule.\n# TYPE trustwatch_alerts_open gauge\n");
    for (rule, n) in service::alerts::count_open_by_rule(&state.pool).await? {
        out.push_str(&format!("trustwatch_alerts_open{{rule=\"{rule}\"}} {n}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
