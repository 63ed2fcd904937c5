//! The errors use cases return. Database errors are kept whole for the logs and never shown to a
//! user or a client: callers turn `Database` into a generic "internal error" message.

use domain::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input was refused; the message says why and is safe to show.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The change conflicts with what exists (a duplicate name, say).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ParseError> for ServiceError {
    fn from(e: ParseError) -> Self {
        ServiceError::Invalid(e.0)
    }
}

impl ServiceError {
    /// Turns a unique-constraint violation into a `Conflict` with a readable message.
    pub fn unique_violation(e: sqlx::Error, message: impl Into<String>) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ServiceError::Conflict(message.into())
            }
            _ => ServiceError::Database(e),
        }
    }

    /// True when the database could not be reached, dropped the connection or answered too
    /// slowly, so the caller can ask the client to retry instead of reporting a failure. Errors
    /// of the conversation itself (`Tls`, `Protocol`) count too: a peer that accepts and hangs
    /// up, as a restarting database or a proxy in front of it does, produces them.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ServiceError::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::WorkerCrashed
            )
        )
    }
}
