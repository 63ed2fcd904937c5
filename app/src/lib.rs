//! Trustwatch's UI: routed pages, reusable components and the server functions behind them.
//!
//! Server functions live under `api/`, one per file. Each one's first line authorizes the caller
//! (`auth::require`), then it makes one service call and maps the error: hiding a button in the UI
//! is never what keeps someone out.

pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod state;

pub use app::{shell, App};
