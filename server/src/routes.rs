pub mod admission;
pub mod api_v1;
pub mod client_ip;
pub mod health;
pub mod incident_files;
pub mod login;
pub mod metrics;
pub mod trends_csv;
