mod get_rejection;
mod list_rejections;
pub use get_rejection::*;
pub use list_rejections::*;
