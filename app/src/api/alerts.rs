mod acknowledge_alert;
mod list_alerts;
pub use acknowledge_alert::*;
pub use list_alerts::*;

/// Who may acknowledge alerts: the people who act on them. Everyone may read them.
#[cfg(feature = "ssr")]
pub(crate) const ALERT_ACKNOWLEDGERS: [domain::Role; 2] =
    [domain::Role::Security, domain::Role::Admin];
