use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::overview::get_overview;
use crate::components::error_box::ErrorBox;
use crate::model::{ClusterStatusView, OverviewView};

/// Fleet status: what happened in the last 24 hours, and whether every cluster is reporting.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_overview());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(o) => view! { <OverviewBody o /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OverviewBody(o: OverviewView) -> impl IntoView {
    let t = o.totals.clone();
    let success = if t.total() > 0 {
        format!("{:.1}%", 100.0 * t.admitted as f64 / t.total() as f64)
    } else {
        "–".into()
    };
    let stale = o.clusters.iter().filter(|c| c.stale).count();
    view! {
        <p class="muted">"Admissions since " {o.since.clone()} "."</p>
        <section class="stats" aria-label="Admissions in the last 24 hours">
            <Stat label="Admitted" value=t.admitted.to_string() class="ok" />
            <Stat label="Rejected" value=t.rejected.to_string() class="bad" />
            <Stat label="Warned" value=t.warned.to_string() class="warn" />
            <Stat label="Errors" value=t.error.to_string() class="bad" />
            <Stat label="Admitted share" value=success class="" />
            <Stat
                label="Stale clusters"
                value=stale.to_string()
                class={ if stale > 0 { "bad" } else { "ok" } }
            />
        </section>
        <section class="card">
            <h2>"Clusters"</h2>
            <div class="table-wrap">
                <table class="clusters">
                    <thead>
                        <tr>
                            <th>"Cluster"</th>
                            <th>"Environment"</th>
                            <th>"Engine"</th>
                            <th>"Mode"</th>
                            <th>"Bundle"</th>
                            <th>"Last report"</th>
                            <th class="num">"Admitted"</th>
                            <th class="num">"Rejected"</th>
                            <th class="num">"Warned"</th>
                            <th class="num">"Errors"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {o.clusters.into_iter().map(|c| view! { <ClusterRow c /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <div class="columns">
            <section class="card">
                <h2>"Top rejection reasons (24 h)"</h2>
                <ul class="reasons">
                    {o
                        .top_reasons
                        .into_iter()
                        .map(|(code, summary, n)| {
                            view! {
                                <li>
                                    <code>{code}</code>
                                    " "
                                    <strong>{n}</strong>
                                    <br />
                                    <span class="muted">{summary}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
            <section class="card">
                <h2>"Keys by status"</h2>
                <ul class="reasons">
                    {o
                        .keys_by_status
                        .into_iter()
                        .map(|(status, n)| {
                            view! {
                                <li>
                                    <span class=format!("badge status-{status}")>{status.clone()}</span>
                                    " "
                                    <strong>{n}</strong>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        </div>
    }
}

#[component]
fn Stat(label: &'static str, value: String, class: &'static str) -> impl IntoView {
    view! {
        <div class=format!("stat {class}")>
            <div class="value">{value}</div>
            <div class="label">{label}</div>
        </div>
    }
}

#[component]
fn ClusterRow(c: ClusterStatusView) -> impl IntoView {
    let report_class = if c.stale { "stale" } else { "" };
    let name = c.name.clone();
    view! {
        <tr data-cluster=name>
            <td>
                <strong>{c.name}</strong>
            </td>
            <td>{c.environment}</td>
            <td>{c.engine}</td>
            <td>{c.enforcement_mode}</td>
            <td>{c.bundle_version.map(|v| format!("v{v}")).unwrap_or_else(|| "–".into())}</td>
            <td class=report_class title=c.last_report>
                {c.last_report_ago}
                {c.stale.then_some(" · stale")}
            </td>
            <td class="num">{c.counts.admitted}</td>
            <td class="num">{c.counts.rejected}</td>
            <td class="num">{c.counts.warned}</td>
            <td class="num">{c.counts.error}</td>
        </tr>
    }
}
