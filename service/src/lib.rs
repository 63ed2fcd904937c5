//! Trustwatch's use cases over PostgreSQL: one module per aggregate or workflow.
//!
//! Every function that changes state takes an [`Actor`] and writes its audit entry in the same
//! transaction as the change (see [`audit`]).

pub mod actor;
pub mod alerts;
pub mod audit;
pub mod charts;
pub mod clusters;
pub mod db;
pub mod demo;
pub mod deploy_times;
pub mod deployments;
pub mod error;
pub mod images;
pub mod incidents;
pub mod ingest;
pub mod key_groups;
pub mod key_usage;
pub mod keys;
pub mod keyset;
pub mod known_images;
pub mod login;
pub mod maintenance;
pub mod overview;
pub mod password;
pub mod playbooks;
pub mod policies;
pub mod policy_export;
pub mod registry;
pub mod rejections;
pub mod rollups;
pub mod teams;
pub mod tokens;
pub mod trend_rollups;
pub mod trends;
pub mod trust_bundle;
pub mod users;
pub mod verifier;
pub mod what_if;

pub use actor::Actor;
pub use db::{connect, migrate, MIGRATOR};
pub use error::ServiceError;
