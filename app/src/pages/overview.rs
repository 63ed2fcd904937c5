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
    let behind = o.clusters.iter().filter(|c| c.bundle_behind).count();
    let newest = o.newest_bundle;
    let incidents = (!o.open_incidents.is_empty()).then(|| {
        view! {
            <section class="notice error" role="alert" data-open-incidents=o.open_incidents.len()>
                <strong>{format!("{} open incident(s)", o.open_incidents.len())}</strong>
                <ul>
                    {o.open_incidents.clone().into_iter().map(|i| view! {
                        <li>
                            {i.drill.then(|| view! { <span class="badge drill">"DRILL"</span> " " })}
                            <a href=format!("/incidents/{}", i.id)>{i.title}</a>
                            {format!(" — {} severity, {}, commander {}, opened {}", i.severity, i.status, i.commander, i.opened_ago)}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        }
    });
    let alerts = (o.open_alerts > 0).then(|| {
        view! {
            <p class="notice warn" role="status" data-open-alerts=o.open_alerts>
                <a href="/alerts">{format!("{} alert(s) not acknowledged", o.open_alerts)}</a>
            </p>
        }
    });
    view! {
        {incidents}
        {alerts}
        <p class="muted">
            "Admissions since " {o.since.clone()} ". A cluster is stale after " {o.stale_after.clone()}
            " without a report. Newest trust bundle: "
            <span data-newest-bundle=newest.map(|v| v.to_string()).unwrap_or_default()>
                {newest.map(|v| format!("v{v}")).unwrap_or_else(|| "none published".into())}
            </span>
            "."
        </p>
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
            <Stat
                label="On an older bundle"
                value=behind.to_string()
                class={ if behind > 0 { "warn" } else { "ok" } }
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
                            <th>"Top reasons"</th>
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
    let name_for_link = crate::model::percent_encode(&c.name);
    view! {
        <tr data-cluster=name>
            <td>
                <strong>{c.name}</strong>
            </td>
            <td>{c.environment}</td>
            <td>{c.engine}</td>
            <td>{c.enforcement_mode}</td>
            <td
                class:behind=c.bundle_behind
                data-bundle-version=c.bundle_version.map(|v| v.to_string()).unwrap_or_default()
                title=if c.bundle_behind { "older than the newest published bundle" } else { "" }
            >
                {c.bundle_version.map(|v| format!("v{v}")).unwrap_or_else(|| "–".into())}
                {c.bundle_behind.then_some(" · behind")}
            </td>
            <td class=report_class title=c.last_report>
                {c.last_report_ago}
                {c.stale.then_some(" · stale")}
            </td>
            <td class="num">{c.counts.admitted}</td>
            <td class="num">{c.counts.rejected}</td>
            <td class="num">{c.counts.warned}</td>
            <td class="num">{c.counts.error}</td>
            <td>
                {c.top_reasons
                    .into_iter()
                    .map(|(reason, n)| view! {
                        <a href=format!("/rejections?cluster={}&reason={reason}&range=24h", name_for_link) class="reason-link">
                            <code>{reason.clone()}</code> " " {n}
                        </a>
                        " "
                    })
                    .collect_view()}
            </td>
        </tr>
    }
}
