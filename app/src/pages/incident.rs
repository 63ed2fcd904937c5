use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::incidents::{get_incident, ActOnStep, CloseIncident, CommentOnIncident};
use crate::components::error_box::ErrorBox;
use crate::components::incident_step::StepCard;
use crate::model::IncidentView;

/// How often an open incident page reads the incident again, so two responders see each
/// other's moves without reloading.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// One incident: the clock, the figures, the steps in order with their state and the live views
/// of its queries, the comments, and closing. Steps are keyed by their revision, so a refresh
/// redraws only the steps that changed and what someone is typing into another step survives it.
#[component]
pub fn IncidentPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let act = ServerAction::<ActOnStep>::new();
    let comment = ServerAction::<CommentOnIncident>::new();
    let close = ServerAction::<CloseIncident>::new();
    let (tick, set_tick) = signal(0u64);
    // Effects run only in the browser: the server renders once, the browser keeps it fresh.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || set_tick.update(|t| *t += 1), REFRESH)
        {
            on_cleanup(move || handle.clear());
        }
    });
    let data = Resource::new(
        move || {
            (
                id(),
                act.version().get(),
                comment.version().get(),
                close.version().get(),
                tick.get(),
            )
        },
        |(id, ..)| get_incident(id),
    );
    let current = Memo::new(move |_| data.get().and_then(Result::ok));
    let steps = move || current.get().map(|v| v.steps).unwrap_or_default();
    let incident_id = Signal::derive(id);
    let can_act = Signal::derive(move || current.get().is_some_and(|v| v.can_act));
    let can_approve = Signal::derive(move || current.get().is_some_and(|v| v.can_approve));
    let me = Signal::derive(move || current.get().map(|v| v.me).unwrap_or_default());
    view! {
        <Title text="Incident" />
        {move || {
            act.value()
                .get()
                .map(|r| match r {
                    Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                })
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || data.get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e /> })}
            {move || current.get().map(|v| view! { <IncidentHeader view=v /> })}
            <ol class="incident-steps">
                <For
                    each=steps
                    key=|s| s.revision.clone()
                    children=move |step| {
                        let id = step.id.clone();
                        // The live view follows every refresh; the rest of the card only its
                        // revision.
                        let live = Signal::derive(move || {
                            current.with(|v| {
                                v.as_ref()
                                    .and_then(|v| v.steps.iter().find(|s| s.id == id))
                                    .and_then(|s| s.live.clone())
                            })
                        });
                        view! { <StepCard step incident=incident_id act can_act can_approve me live /> }
                    }
                />
            </ol>
            {move || current.get().map(|v| view! { <Comments view=v /> })}
            <Show when=move || can_act.get()>
                <section class="card">
                    <h2>"Comment"</h2>
                    {move || {
                        comment
                            .value()
                            .get()
                            .and_then(|r| r.err())
                            .map(|e| view! { <p class="notice error" role="alert">{e.to_string()}</p> })
                    }}
                    <ActionForm action=comment attr:class="form comment-form">
                        <input type="hidden" name="incident" value=id />
                        <label>
                            "On step"
                            <select name="step">
                                <option value="">"the incident as a whole"</option>
                                {move || {
                                    current
                                        .get()
                                        .map(|v| {
                                            v.steps
                                                .into_iter()
                                                .map(|s| view! { <option value=s.id>{s.title}</option> })
                                                .collect_view()
                                        })
                                }}
                            </select>
                        </label>
                        <textarea name="body" required maxlength="10000" rows="3" aria-label="Comment"></textarea>
                        <button type="submit">"Add comment"</button>
                    </ActionForm>
                </section>
                <section class="card close-incident">
                    <h2>"Close the incident"</h2>
                    {move || {
                        close
                            .value()
                            .get()
                            .and_then(|r| r.err())
                            .map(|e| view! { <p class="notice error" role="alert">{e.to_string()}</p> })
                    }}
                    {move || {
                        current
                            .get()
                            .and_then(|v| v.close_blocked)
                            .map(|why| view! { <p class="muted">{why}</p> })
                    }}
                    <ActionForm action=close attr:class="inline">
                        <input type="hidden" name="incident" value=id />
                        <button
                            type="submit"
                            disabled=move || current.get().is_none_or(|v| v.close_blocked.is_some())
                        >
                            "Close incident"
                        </button>
                    </ActionForm>
                </section>
            </Show>
        </Transition>
    }
}

#[component]
fn IncidentHeader(view: IncidentView) -> impl IntoView {
    let severity = format!("badge severity-{}", view.severity);
    let drill = view.drill;
    view! {
        <header class="incident-head" data-status=view.status.clone() data-drill=drill.to_string()>
            {drill.then(|| view! {
                <p class="notice warn drill-banner" role="note">
                    <strong>"DRILL"</strong>
                    " — every action is simulated: no key changes, no bundle is published, no notification leaves."
                </p>
            })}
            <h1>
                {drill.then_some("DRILL: ")}
                {view.title.clone()}
            </h1>
            <p>
                <span class=severity>{view.severity.clone()}</span> " "
                <span class="badge">{view.status.clone()}</span> " "
                {view.playbook.clone()} " (version " {view.playbook_version.clone()} ")"
            </p>
            <dl class="facts incident-facts">
                <dt>"Commander"</dt> <dd>{view.commander.clone()}</dd>
                <dt>"Opened"</dt> <dd>{view.opened.clone()} " by " {view.opened_by.clone()}</dd>
                <dt>"Clock"</dt> <dd class="incident-clock">{view.elapsed.clone()} {view.closed.clone().map(|c| format!(" (closed {c})"))}</dd>
                {view.key.clone().map(|k| {
                    let href = format!("/keys/{}", k.fingerprint);
                    view! {
                        <dt>"Key"</dt>
                        <dd><a href=href>{k.name}</a> " " <code>{k.fingerprint}</code> " — " <span class="key-status">{k.status}</span></dd>
                    }
                })}
                {view.compromised_since.clone().map(|t| view! { <dt>"T (suspected compromise)"</dt> <dd>{t}</dd> })}
                {view.replacement_key.clone().map(|k| {
                    let href = format!("/keys/{}", k.fingerprint);
                    view! { <dt>"Replacement key"</dt> <dd><a href=href>{k.name}</a> " " <code>{k.fingerprint}</code></dd> }
                })}
                {view
                    .figures
                    .iter()
                    .map(|(label, value)| view! { <dt>{label.clone()}</dt> <dd data-figure=label.clone()>{value.clone()}</dd> })
                    .collect_view()}
            </dl>
        </header>
    }
}

#[component]
fn Comments(view: IncidentView) -> impl IntoView {
    view! {
        <section class="card comments">
            <h2>"Comments"</h2>
            {if view.comments.is_empty() {
                view! { <p class="muted">"No comments yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="comment-list">
                        {view
                            .comments
                            .into_iter()
                            .map(|c| view! {
                                <li data-comment=c.id>
                                    <p class="muted">
                                        <strong>{c.author}</strong> " · " {c.at}
                                        {c.step.map(|s| format!(" · on {s}"))}
                                    </p>
                                    <p class="comment-body">{c.body}</p>
                                </li>
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}
