use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ImageSearchView;

/// Images by digest (whole, or its first hex digits) or by a part of their reference
/// (`registry.example.com/team/app`, `app:1.2`), most recently seen first; an empty query lists
/// the most recently seen images. Every logged-in role may search.
#[server(prefix = "/ui", endpoint = "images/search")]
pub async fn search_images(q: String) -> Result<ImageSearchView, AppError> {
    use crate::model::{time, ImageMatchView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let query = service::known_images::ImageQuery::parse(&q);
    let now = chrono::Utc::now();
    let matches = service::known_images::search(&state.pool, &query).await?;
    Ok(ImageSearchView {
        query: q.trim().to_owned(),
        truncated: matches.len() as i64 >= service::known_images::SEARCH_LIMIT,
        matches: matches
            .into_iter()
            .map(|m| ImageMatchView {
                repository: m.repository,
                digest: m.digest,
                references: m.references,
                first_seen: time::absolute(m.first_seen),
                last_seen: time::absolute(m.last_seen),
                last_seen_ago: time::ago(m.last_seen, now),
                signatures: m.signatures,
            })
            .collect(),
    })
}
