use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::images::search_images;
use crate::components::error_box::ErrorBox;
use crate::model::ImageSearchView;
use crate::pages::keys::short;

/// Finding an image: by its digest (whole or its first digits) or by a part of its reference, as
/// a developer pastes it from a pipeline log or a pod spec. Each digest opens its image page.
#[component]
pub fn ImagesPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = Resource::new(q, search_images);
    view! {
        <Title text="Images" />
        <h1>"Images"</h1>
        <section class="card">
            // A plain GET form: the search is a link that can be shared, and works before the
            // page is hydrated.
            <form method="get" action="/images" class="filters" role="search">
                <label>
                    "Digest or reference"
                    <input
                        type="search"
                        name="q"
                        value=q
                        size="60"
                        placeholder="sha256:… or registry.example.com/team/app or app:1.2"
                    />
                </label>
                <button type="submit" class="primary">"Search"</button>
            </form>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(r) => view! { <Matches r /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Matches(r: ImageSearchView) -> impl IntoView {
    if r.matches.is_empty() && r.query.is_empty() {
        return view! { <p class="muted" data-matches="0">"No image has been reported yet."</p> }
            .into_any();
    }
    if r.matches.is_empty() {
        return view! { <p class="muted" data-matches="0">"No image matches " <code>{r.query}</code> "."</p> }
            .into_any();
    }
    let count = r.matches.len();
    view! {
        <section class="card">
            <p class="muted" data-matches=count.to_string()>
                {if r.query.is_empty() {
                    format!("The {count} most recently seen digests. Search by digest or by a part of the reference.")
                } else if r.truncated {
                    format!("The {count} most recently seen matches; narrow the search to see others.")
                } else {
                    format!("{count} matching digests, most recently seen first.")
                }}
            </p>
            <div class="table-wrap">
                <table class="image-matches">
                    <thead>
                        <tr>
                            <th>"Repository"</th>
                            <th>"Digest"</th>
                            <th>"Seen as"</th>
                            <th class="num">"Signatures"</th>
                            <th>"Last seen"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {r.matches
                            .into_iter()
                            .map(|m| view! {
                                <tr>
                                    <td>{m.repository}</td>
                                    <td>
                                        {match m.digest {
                                            Some(d) => view! {
                                                <a href=format!("/images/{d}") title=d.clone()><code>{short(&d)}</code></a>
                                            }
                                                .into_any(),
                                            None => view! { <span class="muted">"no digest reported"</span> }.into_any(),
                                        }}
                                    </td>
                                    <td>
                                        {m.references
                                            .into_iter()
                                            .map(|i| view! { <code class="detail">{i}</code> <br /> })
                                            .collect_view()}
                                    </td>
                                    <td class="num">{m.signatures}</td>
                                    <td title=m.last_seen>{m.last_seen_ago}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
