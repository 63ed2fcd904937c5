use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ImageView;

/// One image digest: the references it was seen under, every recorded signature, and where it
/// was admitted or refused. Every logged-in role may read it.
#[server(prefix = "/ui", endpoint = "images/get")]
pub async fn get_image(digest: String) -> Result<ImageView, AppError> {
    use crate::model::{time, ImageSignatureView, PlacementView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let digest = super::parse_digest(&digest)?;
    let references = service::known_images::references(&state.pool, &digest).await?;
    let signatures = service::images::signatures(&state.pool, &digest).await?;
    let placements = service::images::placements(&state.pool, &digest).await?;
    if references.is_empty() && signatures.is_empty() && placements.is_empty() {
        crate::error::set_status(http::StatusCode::NOT_FOUND);
        return Err(AppError::NotFound(format!("image {digest}")));
    }
    Ok(ImageView {
        digest: digest.as_str().to_owned(),
        references,
        signatures: signatures
            .into_iter()
            .map(|s| ImageSignatureView {
                key_name: s.key_name,
                key_fingerprint: s.key_fingerprint,
                key_status: s.key_status,
                image: s.image,
                identity: s.signer_identity,
                host: s.signer_host,
                recorded: time::absolute(s.recorded_at),
                claimed: s.claimed_at.map(time::absolute),
                source: "signing event".to_owned(),
            })
            .collect(),
        placements: placements
            .into_iter()
            .map(|p| PlacementView {
                cluster: p.cluster,
                namespace: p.namespace,
                last_outcome: p.last_outcome,
                last_reason: p.last_reason,
                last_event: p.last_event.to_string(),
                last_seen: time::absolute(p.last_seen),
                admitted: p.admitted,
                rejected: p.rejected,
                warned: p.warned,
                errors: p.errors,
            })
            .collect(),
    })
}
