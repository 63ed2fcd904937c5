//! Who is doing something, for the audit log.

/// The person, machine or command behind a change, and where the request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user:<email>`, `token:<name>`, `cli` or `anonymous`.
    pub label: String,
    pub source_ip: Option<String>,
}

impl Actor {
    pub fn user(email: &str, source_ip: Option<String>) -> Self {
        Self {
            label: format!("user:{email}"),
            source_ip,
        }
    }

    /// An operator at the `trustwatch` command line, acting directly on the database.
    pub fn cli() -> Self {
        Self {
            label: "cli".into(),
            source_ip: None,
        }
    }
}
