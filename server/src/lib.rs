//! The `trustwatch` binary's library half: settings, start-up, HTTP routes and CLI commands.
//! `main.rs` only parses the command line; integration tests build the same router from here.

pub mod bundle_key;
pub mod cli;
pub mod instruments;
pub mod middleware;
pub mod router;
pub mod routes;
pub mod settings;
pub mod telemetry;
pub mod tls;

pub use router::{build_router, serve, AppParts};
pub use settings::Settings;
