//! `GET /api/v1/trust-bundle` (the signed bundle, with `ETag`/`If-None-Match`) and
//! `GET /api/v1/trust-bundle/key` (the public bundle key that verifies it, PEM).

use app::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::TokenScope;

use super::problem::Problem;
use super::Bearer;

/// Who may fetch the bundle: readers, the clusters that report (and verify), administrators.
pub const READERS: [TokenScope; 3] = [
    TokenScope::Read,
    TokenScope::IngestVerification,
    TokenScope::Admin,
];

/// Whether an `If-None-Match` header names `etag` (weak or strong; `*` matches any).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn header_value(s: &str) -> Result<HeaderValue, Problem> {
    HeaderValue::from_str(s).map_err(|_| Problem::internal())
}

pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    bearer.require_any(&READERS)?;
    let head = service::trust_bundle::head(&state.pool).await?;
    if let Some(head) = head.filter(|h| none_match(&headers, &h.etag)) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, header_value(&head.etag)?),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
        )
            .into_response());
    }
    let signed = service::trust_bundle::current_signed(&state.pool)
        .await?
        .ok_or_else(|| Problem::not_found("no trust bundle has been published yet"))?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, header_value(&signed.etag)?),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("x-trustwatch-bundle-version"),
                header_value(&signed.version.to_string())?,
            ),
        ],
        signed.signed,
    )
        .into_response())
}

pub async fn key(bearer: Bearer, State(state): State<AppState>) -> Result<Response, Problem> {
    bearer.require_any(&READERS)?;
    let public = state.publisher.public_key();
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            ),
            (
                header::HeaderName::from_static("x-trustwatch-key-fingerprint"),
                header_value(public.fingerprint().as_str())?,
            ),
        ],
        public.to_pem(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn if_none_match_forms() {
        let etag = "\"3-0123456789abcdef\"";
        assert!(none_match(&headers(etag), etag));
        assert!(none_match(&headers(&format!("W/{etag}")), etag));
        assert!(none_match(&headers(&format!("\"2-aa\", {etag}")), etag));
        assert!(none_match(&headers("*"), etag));
        assert!(!none_match(&headers("\"2-0123456789abcdef\""), etag));
        assert!(!none_match(&HeaderMap::new(), etag));
    }
}
