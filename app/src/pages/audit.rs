use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::list_audit;
use crate::components::error_box::ErrorBox;
use crate::model::{AuditPage as Page, ChainView};

/// The audit log, newest first, filterable through the URL, with the hash chain's verdict.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).filter(|v| !v.trim().is_empty()));
    let data = Resource::new(
        move || {
            (
                param("actor"),
                param("action"),
                param("target"),
                param("before"),
            )
        },
        |(actor, action, target, before)| {
            list_audit(actor, action, target, before.and_then(|b| b.parse().ok()))
        },
    );
    view! {
        <Title text="Audit" />
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="filters card">
            <label>"Actor" <input name="actor" prop:value=move || param("actor").unwrap_or_default() /></label>
            <label>"Action" <input name="action" prop:value=move || param("action").unwrap_or_default() /></label>
            <label>"Target" <input name="target" prop:value=move || param("target").unwrap_or_default() /></label>
            <button type="submit">"Filter"</button>
            <a href="/audit">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <AuditBody page /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditBody(page: Page) -> impl IntoView {
    let chain = match page.chain {
        ChainView::Verified { entries } => view! {
            <p class="notice ok chain" role="status" data-chain="verified">
                "Hash chain verified: all " {entries} " entries are intact and in order."
            </p>
        }
        .into_any(),
        ChainView::Broken { seq, explanation } => view! {
            <p class="notice error chain" role="alert" data-chain="broken" data-broken-seq=seq>
                "Hash chain broken at entry #" {seq} ": " {explanation}
            </p>
        }
        .into_any(),
    };
    let next = page.next_before.map(|b| {
        view! {
            <p>
                <a href=format!("/audit?before={b}")>"Older entries →"</a>
            </p>
        }
    });
    view! {
        {chain}
        <div class="table-wrap card">
            <table class="audit">
                <thead>
                    <tr>
                        <th class="num">"#"</th>
                        <th>"When"</th>
                        <th>"Actor"</th>
                        <th>"Action"</th>
                        <th>"Target"</th>
                        <th>"Detail"</th>
                        <th>"From"</th>
                        <th>"Hash"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .entries
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr data-seq=e.seq>
                                    <td class="num">{e.seq}</td>
                                    <td class="nowrap">{e.at}</td>
                                    <td>{e.actor}</td>
                                    <td>
                                        <code>{e.action}</code>
                                    </td>
                                    <td>{e.target}</td>
                                    <td>
                                        <code class="detail">{e.detail}</code>
                                    </td>
                                    <td>{e.source_ip}</td>
                                    <td>
                                        <code>{e.hash}</code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        {next}
    }
}
