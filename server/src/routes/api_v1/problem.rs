//! RFC 9457 problem details: the one error shape of every machine API. A database error is
//! logged and answered as a bare 500 or 503, never described.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    #[serde(with = "status_code")]
    pub status: StatusCode,
    pub detail: String,
    /// For a refused batch: the position of the first bad item …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// … and the field in it that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a refused policy file: every problem, each with its path (`documents[0].spec.mode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    /// (A boxed slice keeps `Problem` small: every handler returns it by value.)
    pub problems: Option<Box<[domain::Problem]>>,
}

mod status_code {
    pub fn serialize<S: serde::Serializer>(
        s: &axum::http::StatusCode,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        ser.serialize_u16(s.as_u16())
    }
}

impl Problem {
    fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status,
            detail: detail.into(),
            index: None,
            field: None,
            problems: None,
        }
    }

    /// A refused document or file: 422 with every problem listed; nothing was stored.
    pub fn documents(problems: &domain::Problems) -> Self {
        let mut p = Self::invalid(format!("refused, nothing was stored: {problems}"));
        p.problems = Some(problems.0.clone().into_boxed_slice());
        p
    }

    /// Item `index` of a batch is invalid; nothing of the batch was stored.
    pub fn invalid_item(index: usize, field: &str, message: &str) -> Self {
        Self::invalid(format!(
            "events[{index}].{field}: {message}; nothing of this batch was stored"
        ))
        .at(index, field)
    }

    /// Item `index` failed validation: 403 when the sender may not report it, else 422.
    pub fn item(index: usize, e: &domain::wire::FieldError) -> Self {
        if e.forbidden {
            Self::forbidden(format!(
                "events[{index}].{}: {}; nothing of this batch was stored",
                e.field, e.message
            ))
            .at(index, &e.field)
        } else {
            Self::invalid_item(index, &e.field, &e.message)
        }
    }

    fn at(mut self, index: usize, field: &str) -> Self {
        self.index = Some(index);
        self.field = Some(field.to_owned());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "https://trustwatch.dev/problems/bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "https://trustwatch.dev/problems/too-large",
            "Request too large",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "https://trustwatch.dev/problems/unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "https://trustwatch.dev/problems/forbidden",
            "Forbidden",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "https://trustwatch.dev/problems/not-found",
            "Not found",
            detail,
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "https://trustwatch.dev/problems/invalid",
            "Invalid request",
            detail,
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "https://trustwatch.dev/problems/unavailable",
            "Temporarily unavailable",
            "the database is unavailable; nothing was stored; retry later",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "https://trustwatch.dev/problems/internal",
            "Internal error",
            "an internal error occurred; it has been logged",
        )
    }
}

impl From<service::ServiceError> for Problem {
    fn from(e: service::ServiceError) -> Self {
        use service::ServiceError as S;
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return Problem::unavailable();
        }
        match e {
            S::Invalid(m) => Problem::invalid(m),
            S::NotFound(m) => Problem::not_found(format!("{m} not found")),
            S::Conflict(m) => Self::new(
                StatusCode::CONFLICT,
                "https://trustwatch.dev/problems/conflict",
                "Conflict",
                m,
            ),
            S::Forbidden(m) => Problem::forbidden(m),
            e @ (S::Database(_) | S::Internal(_)) => {
                tracing::error!(error = %e, "machine API request failed");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry = status == StatusCode::SERVICE_UNAVAILABLE;
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"trustwatch\""),
            );
        }
        res
    }
}
