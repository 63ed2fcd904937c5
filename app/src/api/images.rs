mod get_image;
mod image_history;
mod search_images;
pub use get_image::*;
pub use image_history::*;
pub use search_images::*;

/// A digest from a URL, or 422.
#[cfg(feature = "ssr")]
pub(crate) fn parse_digest(s: &str) -> Result<domain::Digest, crate::error::AppError> {
    domain::Digest::parse(s.trim()).map_err(|e| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        crate::error::AppError::Invalid(e.0)
    })
}
