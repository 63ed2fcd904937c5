pub mod csrf;
pub mod require_session;
