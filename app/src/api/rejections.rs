mod get_rejection;
pub use get_rejection::*;
