mod apply_policies;
mod list_policies;
mod what_if;
pub use apply_policies::*;
pub use list_policies::*;
pub use what_if::*;

/// Who may change policies and key groups.
#[cfg(feature = "ssr")]
pub(crate) const POLICY_CHANGERS: [domain::Role; 2] = [domain::Role::Security, domain::Role::Admin];
