//! The one error type every server function returns. It carries only what may be shown: a
//! database error becomes `Internal`, its details go to the log.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("your session has ended; please log in again")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("something went wrong on our side; it has been logged")]
    Internal,
    #[error("the database is unavailable right now; nothing was changed; try again shortly")]
    Unavailable,
    #[error("the request could not be completed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<service::ServiceError> for AppError {
    fn from(e: service::ServiceError) -> Self {
        use service::ServiceError as S;
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            set_status(http::StatusCode::SERVICE_UNAVAILABLE);
            return AppError::Unavailable;
        }
        let (status, app) = match e {
            S::Invalid(m) => (http::StatusCode::UNPROCESSABLE_ENTITY, AppError::Invalid(m)),
            S::NotFound(m) => (http::StatusCode::NOT_FOUND, AppError::NotFound(m)),
            S::Conflict(m) => (http::StatusCode::CONFLICT, AppError::Conflict(m)),
            S::Forbidden(m) => (http::StatusCode::FORBIDDEN, AppError::Forbidden(m)),
            e @ (S::Database(_) | S::Internal(_)) => {
                tracing::error!(error = %e, "server function failed");
                (http::StatusCode::INTERNAL_SERVER_ERROR, AppError::Internal)
            }
        };
        set_status(status);
        app
    }
}

/// Sets the HTTP status of the current server-function response, so machines (and tests) see
/// 403 for a refusal rather than a generic 500.
#[cfg(feature = "ssr")]
pub fn set_status(status: http::StatusCode) {
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(status);
    }
}
