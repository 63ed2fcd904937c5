mod get_trends;
pub use get_trends::*;
