//! Policies as code for machines: `POST /api/v1/policies/apply` (scope `admin`; `?dry_run=true`
//! only validates and diffs, `?prune=true` deletes what the file does not contain),
//! `GET /api/v1/policies/export` (multi-document YAML; with `?format=` the policies as another
//! engine's objects, `&without=<fingerprint>` leaving keys out) and `GET /api/v1/policies` (a
//! list), both for `read` or `admin`.

use app::state::AppState;
use axum::extract::rejection::{QueryRejection, StringRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::policy_export::{cache_expiry_estimate, ExportFormat};
use domain::TokenScope;
use serde::Deserialize;
use service::policies::{ApplyError, ApplyOptions, ApplyOutcome, PolicySummary};

use super::problem::Problem;
use super::Bearer;

pub const VIEWERS: [TokenScope; 2] = [TokenScope::Read, TokenScope::Admin];

impl From<ApplyError> for Problem {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Invalid(problems) => Problem::documents(&problems),
            ApplyError::Service(e) => e.into(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ApplyQuery {
    dry_run: bool,
    prune: bool,
}

/// The body is the file as it is: YAML documents separated by `---` (JSON is YAML too).
pub async fn apply(
    bearer: Bearer,
    State(state): State<AppState>,
    query: Result<Query<ApplyQuery>, QueryRejection>,
    body: Result<String, StringRejection>,
) -> Result<Json<ApplyOutcome>, Problem> {
    bearer.require(TokenScope::Admin)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let body = body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(e.body_text()),
        _ => Problem::bad_request(e.body_text()),
    })?;
    let outcome = service::policies::apply(
        &state.pool,
        &bearer.actor(),
        &state.publisher,
        &body,
        ApplyOptions {
            dry_run: query.dry_run,
            prune: query.prune,
        },
    )
    .await?;
    Ok(Json(outcome))
}

/// What `GET /policies/export` was asked for: Trustwatch's own documents, or another engine's
/// objects without some keys.
#[derive(Debug, PartialEq, Eq)]
enum ExportRequest {
    Native,
    Engine {
        format: ExportFormat,
        without: Vec<String>,
    },
}

/// Reads `format` (once) and `without` (repeated or comma-separated). Unknown parameters are
/// refused: a misspelt `without` must not quietly export the compromised key.
fn export_request(pairs: Vec<(String, String)>) -> Result<ExportRequest, Problem> {
    let mut format = None;
    let mut without = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "format" if format.is_some() => {
                return Err(Problem::bad_request("give format only once"));
            }
            "format" => format = Some(value),
            "without" => without.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            ),
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter {other:?}: expected format and without"
                )));
            }
        }
    }
    match format.as_deref().map(str::trim) {
        None | Some("trustwatch") if without.is_empty() => Ok(ExportRequest::Native),
        None | Some("trustwatch") => Err(Problem::bad_request(
            "without needs an engine format: Trustwatch's own documents name keys, not their PEM",
        )),
        Some(f) => Ok(ExportRequest::Engine {
            format: ExportFormat::parse(f).map_err(|e| {
                Problem::bad_request(format!("format: {e} (or trustwatch, the default)"))
            })?,
            without,
        }),
    }
}

pub async fn export(
    bearer: Bearer,
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    bearer.require_any(&VIEWERS)?;
    let Query(pairs) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let (yaml, format) = match export_request(pairs)? {
        ExportRequest::Native => (service::policies::export(&state.pool).await?, None),
        ExportRequest::Engine { format, without } => (
            service::policy_export::export_yaml(&state.pool, format, &without).await?,
            Some(format),
        ),
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        yaml,
    )
        .into_response();
    if let Some(format) = format {
        // How long the engine may keep admitting on old verdicts, for scripts that wait it out.
        let seconds = cache_expiry_estimate(format).num_seconds();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(
                header::HeaderName::from_static("x-trustwatch-cache-expiry-seconds"),
                value,
            );
        }
    }
    Ok(response)
}

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<PolicySummary>>, Problem> {
    bearer.require_any(&VIEWERS)?;
    Ok(Json(service::policies::list(&state.pool).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn reads_the_export_query() {
        assert_eq!(export_request(vec![]).unwrap(), ExportRequest::Native);
        assert_eq!(
            export_request(pairs(&[("format", "trustwatch")])).unwrap(),
            ExportRequest::Native
        );
        assert_eq!(
            export_request(pairs(&[
                ("format", "policy-controller"),
                ("without", "sha256:a, sha256:b"),
                ("without", "sha256:c"),
            ]))
            .unwrap(),
            ExportRequest::Engine {
                format: ExportFormat::PolicyController,
                without: vec!["sha256:a".into(), "sha256:b".into(), "sha256:c".into()],
            }
        );
        for bad in [
            pairs(&[("format", "gatekeeper")]),
            pairs(&[("withot", "sha256:a"), ("format", "policy-controller")]),
            pairs(&[("without", "sha256:a")]),
            pairs(&[
                ("format", "policy-controller"),
                ("format", "policy-controller"),
            ]),
        ] {
            let e = export_request(bad).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
    }
}
