use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SignedImagesPage;

/// The images a key signed, newest first, a page at a time: `before` is the `next` of the
/// previous page. Every logged-in role may read it.
#[server(prefix = "/ui", endpoint = "keys/signed_images")]
pub async fn list_signed_images(
    fingerprint: String,
    before: Option<String>,
    limit: Option<u32>,
) -> Result<SignedImagesPage, AppError> {
    use crate::model::{time, SignedImageView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let fingerprint = super::parse_fingerprint(&fingerprint)?;
    let before = before
        .filter(|b| !b.trim().is_empty())
        .map(|b| service::keyset::Keyset::parse(&b))
        .transpose()?;
    let (images, next) = service::key_usage::signed_images(
        &state.pool,
        &fingerprint,
        before,
        service::keyset::page_size(limit),
    )
    .await?;
    Ok(SignedImagesPage {
        images: images
            .into_iter()
            .map(|i| SignedImageView {
                repository: i.repository,
                image: i.image,
                digest: i.digest,
                identity: i.signer_identity,
                host: i.signer_host,
                recorded: time::absolute(i.recorded_at),
            })
            .collect(),
        next: next.map(|k| k.encode()),
    })
}
