mod act_on_step;
mod close_incident;
mod comment_on_incident;
mod declare_incident;
mod get_incident;
mod list_incidents;
pub use act_on_step::*;
pub use close_incident::*;
pub use comment_on_incident::*;
pub use declare_incident::*;
pub use get_incident::*;
pub use list_incidents::*;

/// Who works incidents: declares them, completes steps, comments. Approvals are further limited
/// to security users by the playbook state machine. Everyone logged in may read them.
#[cfg(feature = "ssr")]
pub(crate) const RESPONDERS: [domain::Role; 2] = [domain::Role::Security, domain::Role::Admin];

#[cfg(feature = "ssr")]
pub(crate) fn responder(caller: &crate::auth::Caller) -> service::incidents::Responder {
    service::incidents::Responder {
        email: caller.user.email.clone(),
        role: caller.user.role,
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn incident_id(id: &str) -> Result<uuid::Uuid, crate::error::AppError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        crate::error::AppError::Invalid(format!("{id:?} is not an incident id"))
    })
}
