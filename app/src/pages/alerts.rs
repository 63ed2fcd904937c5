use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::alerts::{list_alerts, AcknowledgeAlert};
use crate::components::error_box::ErrorBox;
use crate::model::{AlertView, AlertsView};

/// Alerts: open ones first (what fired, about what, why with the numbers, first and last seen),
/// acknowledged ones below with who and when. Security and admin users acknowledge them, with a
/// note for whoever looks next; filters live in the URL so a link shows the same list.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).filter(|v| !v.trim().is_empty()));
    let acknowledge = ServerAction::<AcknowledgeAlert>::new();
    let data = Resource::new(
        move || {
            (
                param("rule"),
                param("state"),
                param("key"),
                param("cluster"),
                acknowledge.version().get(),
            )
        },
        |(rule, state, key, cluster, _)| list_alerts(rule, state, key, cluster),
    );
    view! {
        <Title text="Alerts" />
        <h1>"Alerts"</h1>
        {move || {
            acknowledge
                .value()
                .get()
                .map(|r| match r {
                    Ok(()) => view! { <p class="notice ok" role="status">"Alert acknowledged."</p> }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                })
        }}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(view) => {
                        let subject = param("key")
                            .map(|k| ("key", k))
                            .or_else(|| param("cluster").map(|c| ("cluster", c)));
                        view! {
                            <AlertsBody view rule=param("rule") state=param("state") subject acknowledge />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AlertsBody(
    view: AlertsView,
    rule: Option<String>,
    state: Option<String>,
    /// The key or cluster the list is narrowed to: the URL parameter and its value.
    subject: Option<(&'static str, String)>,
    acknowledge: ServerAction<AcknowledgeAlert>,
) -> impl IntoView {
    let can_acknowledge = view.can_acknowledge;
    let rule = rule.unwrap_or_default();
    let state = state.unwrap_or_default();
    let open_count = view.open.len();
    let show_open = state != "acknowledged";
    let show_acknowledged = state != "open";
    view! {
        <form method="get" action="/alerts" class="filters card">
            <label>
                "Rule"
                <select name="rule">
                    <option value="" selected=rule.is_empty()>"All rules"</option>
                    {view
                        .rules
                        .into_iter()
                        .map(|(name, title)| {
                            let selected = name == rule;
                            view! { <option value=name selected=selected>{title}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "State"
                <select name="state">
                    <option value="" selected=state.is_empty()>"Open and acknowledged"</option>
                    <option value="open" selected=state == "open">"Open"</option>
                    <option value="acknowledged" selected=state == "acknowledged">"Acknowledged"</option>
                </select>
            </label>
            {subject.clone().map(|(name, value)| view! { <input type="hidden" name=name value=value /> })}
            <button type="submit">"Filter"</button>
            <a href="/alerts">"Clear"</a>
        </form>
        {subject.map(|(name, value)| {
            let shown = value.clone();
            view! {
                <p class="notice warn" data-subject=value>
                    "Only the alerts of " {name} " " <code>{shown}</code> ". " <a href="/alerts">"Show all"</a>
                </p>
            }
        })}
        {show_open.then(|| view! {
            <section class="card alerts-open" data-section="open">
                <h2>"Open " <span class="muted">"(" {open_count} ")"</span></h2>
                {if view.open.is_empty() {
                    view! { <p class="muted">"No open alerts."</p> }.into_any()
                } else {
                    let open = view.open;
                    // Keyed, so the form of an alert (with a note being typed) never ends up
                    // under another alert when the list changes.
                    view! {
                        <ul class="alert-list">
                            <For
                                each=move || open.clone()
                                key=|a| (a.id.clone(), a.last_seen.clone())
                                children=move |a| view! { <AlertItem alert=a can_acknowledge acknowledge /> }
                            />
                        </ul>
                    }
                        .into_any()
                }}
            </section>
        })}
        {show_acknowledged.then(|| view! {
            <section class="card alerts-acknowledged" data-section="acknowledged">
                <h2>"Acknowledged"</h2>
                {if view.acknowledged.is_empty() {
                    view! { <p class="muted">"None yet."</p> }.into_any()
                } else {
                    let acknowledged = view.acknowledged;
                    view! {
                        <ul class="alert-list">
                            <For
                                each=move || acknowledged.clone()
                                key=|a| (a.id.clone(), a.last_seen.clone())
                                children=move |a| view! { <AlertItem alert=a can_acknowledge=false acknowledge /> }
                            />
                        </ul>
                    }
                        .into_any()
                }}
            </section>
        })}
    }
}

#[component]
fn AlertItem(
    alert: AlertView,
    can_acknowledge: bool,
    acknowledge: ServerAction<AcknowledgeAlert>,
) -> impl IntoView {
    let severity_class = format!("badge severity-{}", alert.severity);
    // Everything this key or cluster raised, as the filter in the URL.
    let subject_href = match alert.subject_kind.as_str() {
        "key" => format!("/alerts?key={}", alert.subject),
        _ => format!("/alerts?cluster={}", alert.subject),
    };
    let id = alert.id.clone();
    view! {
        <li class="alert" data-alert=alert.id.clone() data-rule=alert.rule.clone()>
            <div class="alert-head">
                <span class=severity_class>{alert.severity.clone()}</span>
                <strong>{alert.rule_title}</strong>
                <span class="muted">
                    {alert.subject_kind.clone()} " "
                    <a href=subject_href title=alert.subject.clone()>{alert.subject_label}</a>
                </span>
            </div>
            <p class="alert-summary">{alert.summary}</p>
            <p class="muted alert-times">
                "First seen " {alert.first_seen} " · last seen " {alert.last_seen} " ("
                {alert.last_seen_ago} ")"
            </p>
            <details>
                <summary>"Facts"</summary>
                <dl class="facts">
                    {alert
                        .facts
                        .into_iter()
                        .map(|(k, v)| view! { <dt>{k}</dt> <dd><code class="detail">{v}</code></dd> })
                        .collect_view()}
                </dl>
                {(!alert.deliveries.is_empty()).then(|| view! {
                    <h3>"Webhooks"</h3>
                    <ul>{alert.deliveries.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                })}
            </details>
            {alert.acknowledged.map(|a| view! {
                <p class="alert-ack">
                    "Acknowledged by " <strong>{a.by}</strong> " at " {a.at}
                    {a.note.map(|n| view! { ": " <q>{n}</q> })}
                </p>
            })}
            {can_acknowledge.then(|| view! {
                <ActionForm action=acknowledge attr:class="inline alert-acknowledge">
                    <input type="hidden" name="id" value=id />
                    <input name="note" maxlength="1000" placeholder="Note (optional)" aria-label="Note" />
                    <button type="submit">"Acknowledge"</button>
                </ActionForm>
            })}
        </li>
    }
}
