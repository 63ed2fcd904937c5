//! Cross-site request forgery defence for everything a browser session can change.
//!
//! State changes are POSTs (never GETs), the session cookie is SameSite=Lax, and here every
//! non-safe request must carry an `Origin` (or, failing that, a `Referer`) naming this very host.
//! Token-authenticated machine APIs carry no cookie and are exempt.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn check_origin(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    let machine = path.starts_with("/api/v1/") || path.starts_with("/k8s/");
    if safe || machine || same_origin(&req) {
        return next.run(req).await;
    }
    tracing::warn!(path, "refused a cross-origin or origin-less state change");
    (
        StatusCode::FORBIDDEN,
        "This request did not come from a Trustwatch page (Origin check failed) and was refused.",
    )
        .into_response()
}

fn same_origin(req: &Request) -> bool {
    let headers = req.headers();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match source.and_then(authority) {
        Some(authority) => authority.eq_ignore_ascii_case(host),
        None => false,
    }
}

/// `host[:port]` of an absolute http(s) URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: Method, origin: Option<&str>, referer: Option<&str>) -> Request {
        let mut b = Request::builder()
            .method(method)
            .uri("/ui/admin/create_user")
            .header("host", "127.0.0.1:3000");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if let Some(r) = referer {
            b = b.header("referer", r);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_host_passes_other_hosts_fail() {
        assert!(same_origin(&req(
            Method::POST,
            Some("http://127.0.0.1:3000"),
            None
        )));
        assert!(same_origin(&req(
            Method::POST,
            None,
            Some("http://127.0.0.1:3000/admin")
        )));
        assert!(!same_origin(&req(
            Method::POST,
            Some("http://evil.example"),
            None
        )));
        assert!(!same_origin(&req(
            Method::POST,
            Some("http://127.0.0.1:3000@evil.example"),
            None
        )));
        assert!(!same_origin(&req(Method::POST, Some("null"), None)));
        assert!(!same_origin(&req(Method::POST, None, None)));
    }
}
