//! Server functions, one per file, grouped by area. Their URLs are under `/ui/` and are for the
//! UI only: machines use the versioned `/api/v1` routes.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod audit;
pub mod images;
pub mod incidents;
pub mod keys;
pub mod overview;
pub mod policies;
pub mod rejections;
pub mod trends;
