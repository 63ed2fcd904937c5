pub mod error_box;
pub mod incident_live;
pub mod incident_step;
pub mod key_alerts;
pub mod layout;
pub mod nav;
pub mod trusted_by;
pub mod usage_chart;
