pub mod error_box;
pub mod key_alerts;
pub mod layout;
pub mod nav;
pub mod usage_chart;
