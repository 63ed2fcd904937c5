mod import_key;
mod list_keys;
mod set_key_status;
pub use import_key::*;
pub use list_keys::*;
pub use set_key_status::*;

/// Who may import keys and change their lifecycle status.
#[cfg(feature = "ssr")]
pub(crate) const KEY_CHANGERS: [domain::Role; 2] = [domain::Role::Security, domain::Role::Admin];
