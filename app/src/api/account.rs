mod change_password;
mod current_user;
pub use change_password::*;
pub use current_user::*;
