mod list_audit;
pub use list_audit::*;
