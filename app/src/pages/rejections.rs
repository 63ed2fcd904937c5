use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::rejections::list_rejections;
use crate::components::error_box::ErrorBox;
use crate::model::{RejectionListView, RejectionQuery};

/// Refused, warned and errored admissions, newest first: where a developer starts when an image
/// was turned away. The filters are a plain GET form, so they live in the URL (a link shares
/// the view) and work before the page has hydrated.
#[component]
pub fn RejectionsPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        query_map.with(|q| {
            let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
            RejectionQuery {
                cluster: get("cluster"),
                environment: get("environment"),
                namespace: get("namespace"),
                image: get("image"),
                team: get("team"),
                reason: get("reason"),
                engine: get("engine"),
                outcome: get("outcome"),
                range: get("range"),
                after: get("after"),
            }
        })
    });
    let data = Resource::new(move || query.get(), |q| list_rejections(Some(q)));
    view! {
        <Title text="Rejections" />
        <h1>"Rejections"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                match data.await {
                    Ok(list) => view! { <Filters q=q.clone() list=list.clone() /> <Table q list /> }.into_any(),
                    Err(e) => view! { <Filters q list=RejectionListView::empty() /> <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

impl RejectionListView {
    fn empty() -> Self {
        RejectionListView {
            rows: Vec::new(),
            next: None,
            first_page: true,
            image_query_too_broad: false,
            range_label: String::new(),
            facets: Default::default(),
        }
    }
}

/// A `<select>` of `options` with "any" first, `current` selected.
fn choice(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    current: Option<String>,
) -> impl IntoView {
    let current = current.unwrap_or_default();
    view! {
        <label>
            {label}
            <select name=name>
                <option value="" selected=current.is_empty()>"any"</option>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

fn same(values: Vec<String>) -> Vec<(String, String)> {
    values.into_iter().map(|v| (v.clone(), v)).collect()
}

#[component]
fn Filters(q: RejectionQuery, list: RejectionListView) -> impl IntoView {
    let f = list.facets;
    let ranges = ["24h", "7d", "30d", "90d"]
        .into_iter()
        .map(|r| (r.to_owned(), r.to_owned()))
        .collect::<Vec<_>>();
    let outcomes = same(vec!["rejected".into(), "warned".into(), "error".into()]);
    let range = q.range.clone().unwrap_or_else(|| "7d".into());
    view! {
        <form method="get" action="/rejections" class="filters card" role="search">
            <label>
                "Image"
                <input name="image" placeholder="team/app, app:1.2 or sha256:…" value=q.image.clone().unwrap_or_default() />
            </label>
            {choice("cluster", "Cluster", same(f.clusters), q.cluster.clone())}
            {choice("environment", "Environment", same(f.environments), q.environment.clone())}
            <label>
                "Namespace"
                <input name="namespace" value=q.namespace.clone().unwrap_or_default() />
            </label>
            {choice("team", "Team", same(f.teams), q.team.clone())}
            {choice("reason", "Reason", same(f.reasons), q.reason.clone())}
            {choice("engine", "Engine", same(f.engines), q.engine.clone())}
            {choice("outcome", "Outcome", outcomes, q.outcome.clone())}
            <label>
                "Time"
                <select name="range">
                    {ranges
                        .into_iter()
                        .map(|(v, t)| {
                            let selected = v == range;
                            view! { <option value=v selected=selected>{format!("last {t}")}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <a href="/rejections">"Clear"</a>
        </form>
    }
}

#[component]
fn Table(q: RejectionQuery, list: RejectionListView) -> impl IntoView {
    let broad = list.image_query_too_broad.then(|| {
        view! {
            <p class="notice warn" role="status">
                "More than " {100} " repositories match this image search; only the first 100 by name are searched. Type more of the name."
            </p>
        }
    });
    let older = list.next.as_deref().map(|n| {
        view! { <a href=q.href(Some(n)) rel="next">"Older →"</a> }
    });
    let newest = (!list.first_page).then(|| view! { <a href=q.href(None)>"← Newest"</a> });
    let empty = list.rows.is_empty();
    view! {
        {broad}
        <p class="muted" data-rows=list.rows.len()>
            {if empty {
                format!("No rejections match in {}.", list.range_label)
            } else {
                format!("{} rejections in {}, newest first.", list.rows.len(), list.range_label)
            }}
        </p>
        {(!empty).then(|| view! {
            <div class="table-wrap card">
                <table class="rejections">
                    <thead>
                        <tr>
                            <th>"When"</th>
                            <th>"Image"</th>
                            <th>"Reason"</th>
                            <th>"Where"</th>
                            <th>"Outcome"</th>
                            <th>"Engine"</th>
                            <th>"Policy"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {list.rows.into_iter().map(|r| view! {
                            <tr data-id=r.id.clone()>
                                <td class="nowrap"><a href=format!("/rejections/{}", r.id)>{r.observed}</a></td>
                                <td><code>{r.image}</code></td>
                                <td><code>{r.reason}</code></td>
                                <td>{r.cluster} <span class="muted">" (" {r.environment} ")"</span> " / " {r.namespace} " / " {r.workload}</td>
                                <td>{r.outcome}</td>
                                <td>{r.engine}</td>
                                <td>{r.policy.unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
        <nav class="pager" aria-label="Pages">{newest} " " {older}</nav>
    }
}
