use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::incidents::{list_incidents, DeclareIncident};
use crate::components::error_box::ErrorBox;
use crate::model::{IncidentSummaryView, IncidentsView};

/// Incidents: open ones first with their severity, commander, age and the step they are on,
/// then the recent closed ones; and, for security and admin users, the form that declares a new
/// incident or starts a drill on any playbook.
#[component]
pub fn IncidentsPage() -> impl IntoView {
    let declare = ServerAction::<DeclareIncident>::new();
    let data = Resource::new(move || declare.version().get(), |_| list_incidents());
    // A declared incident opens at once: its clock is running.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = declare.value().get() {
            navigate(&format!("/incidents/{id}"), Default::default());
        }
    });
    view! {
        <Title text="Incidents" />
        <h1>"Incidents"</h1>
        {move || {
            declare
                .value()
                .get()
                .and_then(|r| r.err())
                .map(|e| view! { <p class="notice error" role="alert">{e.to_string()}</p> })
        }}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(view) => view! { <IncidentsBody view declare /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn IncidentsBody(view: IncidentsView, declare: ServerAction<DeclareIncident>) -> impl IntoView {
    let (open, closed): (Vec<_>, Vec<_>) = view
        .incidents
        .into_iter()
        .partition(|i| i.status != "closed");
    let form = view.can_declare.then(|| {
        let me = view.me.clone();
        view! {
            <details class="card declare" open=open.is_empty()>
                <summary><strong>"Declare an incident or start a drill"</strong></summary>
                <ActionForm action=declare attr:class="form declare-form">
                    <label>
                        "Playbook"
                        <select name="playbook" required>
                            {view
                                .playbooks
                                .into_iter()
                                .map(|(id, title)| view! { <option value=id>{title}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "What happened"
                        <input name="title" required maxlength="200" placeholder="ci-release key found in a public repository" />
                    </label>
                    <label>
                        "Key (for key playbooks)"
                        <select name="key">
                            <option value="">"— none —"</option>
                            {view
                                .keys
                                .into_iter()
                                .map(|(name, status)| {
                                    let label = format!("{name} ({status})");
                                    view! { <option value=name>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "Suspected compromise time T (UTC; empty: now)"
                        <input type="datetime-local" name="compromised_since" step="1" />
                    </label>
                    <label>
                        "Severity"
                        <select name="severity">
                            <option value="critical">"critical"</option>
                            <option value="high" selected>"high"</option>
                            <option value="medium">"medium"</option>
                            <option value="low">"low"</option>
                        </select>
                    </label>
                    <label>
                        "Incident commander"
                        <select name="commander">
                            {view
                                .commanders
                                .into_iter()
                                .map(|c| {
                                    let selected = c == me;
                                    let label = c.clone();
                                    view! { <option value=c selected=selected>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <label class="checkbox">
                        <input type="checkbox" name="drill" value="on" />
                        " Drill: same steps and clock, actions simulated"
                    </label>
                    <button type="submit">"Declare"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        {form}
        <section class="card" data-section="open-incidents">
            <h2>"Open"</h2>
            <IncidentTable incidents=open empty="No open incidents." />
        </section>
        <section class="card" data-section="closed-incidents">
            <h2>"Closed"</h2>
            <IncidentTable incidents=closed empty="No closed incidents yet." />
        </section>
    }
}

#[component]
fn IncidentTable(incidents: Vec<IncidentSummaryView>, empty: &'static str) -> impl IntoView {
    if incidents.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="incidents">
                <thead>
                    <tr>
                        <th>"Incident"</th>
                        <th>"Severity"</th>
                        <th>"Status"</th>
                        <th>"Commander"</th>
                        <th>"Opened"</th>
                        <th>"Age"</th>
                        <th>"Now on"</th>
                    </tr>
                </thead>
                <tbody>
                    {incidents
                        .into_iter()
                        .map(|i| {
                            let href = format!("/incidents/{}", i.id);
                            let severity = format!("badge severity-{}", i.severity);
                            view! {
                                <tr data-incident=i.id.clone()>
                                    <td>
                                        {i.drill.then(|| view! { <span class="badge drill">"DRILL"</span> " " })}
                                        <a href=href>{i.title}</a>
                                        <div class="muted">
                                            {i.playbook}
                                            {i.key.map(|k| view! { " · key " <code>{k}</code> })}
                                        </div>
                                    </td>
                                    <td><span class=severity>{i.severity}</span></td>
                                    <td>{i.status}</td>
                                    <td>{i.commander}</td>
                                    <td>{i.opened}</td>
                                    <td>{i.age}</td>
                                    <td>{i.current_steps.join(", ")}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
        .into_any()
}
