use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::images::{get_image, image_history};
use crate::components::error_box::ErrorBox;
use crate::model::{ImageHistoryPage, ImageView};
use crate::pages::keys::short;

/// One image digest: who signed it with which key, where it runs or was refused, and every
/// recorded verification, newest first, each refusal linking to its explanation.
#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let digest = move || params.read().get("digest").unwrap_or_default();
    let image = Resource::new(digest, get_image);
    let history = Resource::new(
        move || (digest(), query.read().get("before")),
        |(digest, before)| image_history(digest, before, None),
    );
    view! {
        <Title text="Image" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match image.await {
                    Err(e) => view! { <h1>"Image"</h1> <ErrorBox error=e /> }.into_any(),
                    Ok(i) => view! { <Detail i /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Verification history"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        Ok(page) => view! { <History page digest=digest() /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Detail(i: ImageView) -> impl IntoView {
    view! {
        <Title text=format!("Image {}", short(&i.digest)) />
        <p class="muted"><a href="/images">"Images"</a> " / " {short(&i.digest)}</p>
        <h1>{i.references.first().cloned().unwrap_or_else(|| short(&i.digest))}</h1>
        <section class="card" data-image=i.digest.clone()>
            <dl class="facts">
                <dt>"Digest"</dt> <dd><code class="detail">{i.digest.clone()}</code></dd>
                <dt>"Seen as"</dt>
                <dd>
                    {if i.references.is_empty() {
                        view! { <span class="muted">"—"</span> }.into_any()
                    } else {
                        i.references.into_iter().map(|r| view! { <code class="detail">{r}</code> <br /> }).collect_view().into_any()
                    }}
                </dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Signatures"</h2>
            {if i.signatures.is_empty() {
                view! { <p class="muted">"No signature of this digest is recorded."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="signatures">
                            <thead>
                                <tr>
                                    <th>"Key"</th>
                                    <th>"Signer"</th>
                                    <th>"Recorded"</th>
                                    <th>"Source"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {i.signatures
                                    .into_iter()
                                    .map(|s| {
                                        let status = s.key_status.clone();
                                        let key_name = s.key_name.clone().unwrap_or_default();
                                        view! {
                                            <tr data-key=key_name>
                                                <td>
                                                    {match s.key_name {
                                                        Some(name) => view! {
                                                            <a href=format!("/keys/{}", s.key_fingerprint)>{name}</a>
                                                        }
                                                            .into_any(),
                                                        None => view! { <span class="muted">"unknown key"</span> }.into_any(),
                                                    }}
                                                    {status.map(|st| view! { " " <span class=format!("badge status-{st}")>{st.clone()}</span> })}
                                                    <br />
                                                    <code class="muted" title=s.key_fingerprint.clone()>{short(&s.key_fingerprint)}</code>
                                                </td>
                                                <td>
                                                    <code class="detail">{s.identity}</code>
                                                    {s.host.map(|h| view! { <br /> <span class="muted">{h}</span> })}
                                                </td>
                                                <td>
                                                    {s.recorded}
                                                    {s.claimed.map(|c| view! { <br /> <span class="muted">"claimed " {c}</span> })}
                                                </td>
                                                <td>{s.source}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
        <section class="card">
            <h2>"Where it runs or was refused"</h2>
            {if i.placements.is_empty() {
                view! { <p class="muted">"No cluster has reported this digest."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="placements">
                            <thead>
                                <tr>
                                    <th>"Cluster"</th>
                                    <th>"Namespace"</th>
                                    <th>"Last outcome"</th>
                                    <th>"Last seen"</th>
                                    <th class="num">"Admitted"</th>
                                    <th class="num">"Rejected"</th>
                                    <th class="num">"Warned"</th>
                                    <th class="num">"Errors"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {i.placements
                                    .into_iter()
                                    .map(|p| {
                                        let refused = p.last_outcome != "admitted";
                                        let placement = format!("{}/{}", p.cluster, p.namespace);
                                        view! {
                                            <tr data-placement=placement>
                                                <td>{p.cluster}</td>
                                                <td>{p.namespace}</td>
                                                <td>
                                                    <span class=format!("badge outcome-{}", p.last_outcome)>{p.last_outcome.clone()}</span>
                                                    " "
                                                    {if refused {
                                                        view! { <a href=format!("/rejections/{}", p.last_event)>{p.last_reason}</a> }.into_any()
                                                    } else {
                                                        view! { <span class="muted">{p.last_reason}</span> }.into_any()
                                                    }}
                                                </td>
                                                <td>{p.last_seen}</td>
                                                <td class="num">{p.admitted}</td>
                                                <td class="num">{p.rejected}</td>
                                                <td class="num">{p.warned}</td>
                                                <td class="num">{p.errors}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn History(page: ImageHistoryPage, digest: String) -> impl IntoView {
    if page.events.is_empty() {
        return view! { <p class="muted">"No verification of this digest is recorded."</p> }
            .into_any();
    }
    let next = page.next.map(|n| format!("/images/{digest}?before={n}"));
    view! {
        <div class="table-wrap">
            <table class="history">
                <thead>
                    <tr>
                        <th>"Observed"</th>
                        <th>"Where"</th>
                        <th>"Outcome"</th>
                        <th>"Engine and policy"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .events
                        .into_iter()
                        .map(|e| {
                            let refused = e.outcome != "admitted";
                            view! {
                                <tr data-event=e.id.clone()>
                                    <td>{e.observed}</td>
                                    <td>{e.cluster} " / " {e.namespace} " / " {e.workload}</td>
                                    <td>
                                        <span class=format!("badge outcome-{}", e.outcome)>{e.outcome.clone()}</span>
                                        " "
                                        {if refused {
                                            view! { <a href=format!("/rejections/{}", e.id)>{e.reason}</a> }.into_any()
                                        } else {
                                            view! { <span class="muted">{e.reason}</span> }.into_any()
                                        }}
                                    </td>
                                    <td>{e.engine} {e.policy.map(|p| view! { <br /> <span class="muted">{p}</span> })}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages of the verification history">
            <a href=format!("/images/{digest}")>"Newest"</a>
            {next.map(|n| view! { <a href=n rel="next">"Older →"</a> })}
        </nav>
    }
    .into_any()
}
