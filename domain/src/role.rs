//! The roles a person can hold. Each page and server function names the role it needs.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

/// A person's role. Roles are not a ladder: an auditor reads the audit log but changes nothing,
/// and only `admin` manages people and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Developer,
    Security,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Developer,
        Role::Security,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "developer" => Ok(Role::Developer),
            "security" => Ok(Role::Security),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            other => Err(ParseError::new(format!(
                "unknown role {other:?}; expected one of viewer, developer, security, admin, auditor"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Security => "security",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Whether someone holding `self` may do what `needed` allows. Admin manages the system but is
    /// not silently a security engineer or an auditor: those duties stay separate.
    pub fn grants(self, needed: Role) -> bool {
        match needed {
            Role::Viewer => true,
            Role::Developer => matches!(self, Role::Developer | Role::Security | Role::Admin),
            Role::Security => matches!(self, Role::Security),
            Role::Admin => matches!(self, Role::Admin),
            Role::Auditor => matches!(self, Role::Auditor | Role::Admin),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_role_and_round_trips() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse(" ADMIN "), Ok(Role::Admin));
        assert!(Role::parse("root").is_err());
        assert!(Role::parse("").is_err());
    }

    #[test]
    fn every_role_may_view() {
        for role in Role::ALL {
            assert!(role.grants(Role::Viewer));
        }
    }

    #[test]
    fn only_admin_administers() {
        for role in Role::ALL {
            assert_eq!(role.grants(Role::Admin), role == Role::Admin, "{role}");
        }
    }

    #[test]
    fn security_duties_are_not_inherited_by_admin() {
        assert!(Role::Security.grants(Role::Security));
        assert!(!Role::Admin.grants(Role::Security));
        assert!(!Role::Viewer.grants(Role::Developer));
        assert!(Role::Admin.grants(Role::Auditor));
        assert!(!Role::Developer.grants(Role::Auditor));
    }
}
