mod create_token;
mod create_user;
mod list_tokens;
mod list_users;
mod revoke_token;
mod set_role;
mod set_user_disabled;
pub use create_token::*;
pub use create_user::*;
pub use list_tokens::*;
pub use list_users::*;
pub use revoke_token::*;
pub use set_role::*;
pub use set_user_disabled::*;

#[cfg(feature = "ssr")]
pub(crate) fn parse_id(s: &str) -> Result<uuid::Uuid, crate::error::AppError> {
    uuid::Uuid::parse_str(s.trim()).map_err(|_| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        crate::error::AppError::Invalid(format!("{s:?} is not an id"))
    })
}
