use leptos::prelude::*;

use crate::api::incidents::ActOnStep;
use crate::components::incident_live::LivePanel;
use crate::model::{LiveView, StepView};

/// One step of an incident: what to do, its state and who did what, its live view, and the
/// forms of the moves the reader may make now. The server decides what is allowed; the forms
/// shown here only spare people buttons that would be refused.
#[component]
pub fn StepCard(
    step: StepView,
    incident: Signal<String>,
    act: ServerAction<ActOnStep>,
    can_act: Signal<bool>,
    can_approve: Signal<bool>,
    me: Signal<String>,
    /// The step's live view, as of the latest read.
    live: Signal<Option<LiveView>>,
) -> impl IntoView {
    let finished = matches!(step.status.as_str(), "approved" | "done" | "skipped");
    let status_class = format!("badge step-status step-{}", step.status);
    // Copy handles, so the forms inside `Show` (rebuilt whenever it shows again) can use them.
    let step_key = StoredValue::new(step.id.clone());
    let items = step.items.clone();
    let checklist = (!items.is_empty()).then(|| {
        view! {
            <ul class="checklist">
                {items
                    .into_iter()
                    .enumerate()
                    .map(|(i, (item, ticked))| {
                        let mark = if ticked { "☑" } else { "☐" };
                        view! {
                            <li data-ticked=ticked.to_string()>
                                <span aria-hidden="true">{mark}</span> " " {item}
                                <Show when=move || can_act.get() && !finished>
                                    <ActionForm action=act attr:class="inline tick">
                                        {hidden(incident, step_key)}
                                        <input type="hidden" name="item" value=i />
                                        <input type="hidden" name="command" value=if ticked { "untick" } else { "tick" } />
                                        <button type="submit" class="link">{if ticked { "untick" } else { "tick" }}</button>
                                    </ActionForm>
                                </Show>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    });
    let moves = (step.ready && !finished).then(|| {
        let step = StoredValue::new(step.clone());
        view! {
            <Show when=move || can_act.get()>
                <Moves step=step.get_value() incident step_key act can_approve me />
            </Show>
        }
    });
    let skip = (!step.required && !finished).then(|| {
        view! {
            <Show when=move || can_act.get()>
                <ActionForm action=act attr:class="inline skip">
                    {hidden(incident, step_key)}
                    <input type="hidden" name="command" value="skip" />
                    <button type="submit" class="secondary">"Skip (optional step)"</button>
                </ActionForm>
            </Show>
        }
    });
    view! {
        <li class="card incident-step" data-step=step.id.clone() data-status=step.status.clone() data-kind=step.kind.clone()>
            <h2>
                {step.title.clone()} " "
                <span class=status_class>{step.status.clone()}</span> " "
                <span class="badge">{step.kind.clone()}</span>
                {(!step.required).then(|| view! { " " <span class="badge">"optional"</span> })}
            </h2>
            {(!step.waiting_for.is_empty()).then(|| view! {
                <p class="muted">"Waits for: " {step.waiting_for.join(", ")}</p>
            })}
            {(!step.record.is_empty()).then(|| view! {
                <ul class="step-record">{step.record.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
            })}
            {step.override_reason.clone().map(|r| view! {
                <p class="notice error override" role="note">
                    <strong>"Emergency override: "</strong> {r}
                </p>
            })}
            <details class="instructions" open=step.ready && !finished>
                <summary>"Instructions"</summary>
                <div class="instructions-text">{step.instructions.clone()}</div>
            </details>
            {checklist}
            {move || live.get().map(|live| view! { <LivePanel live /> })}
            {(!step.result.is_empty()).then(|| view! {
                <dl class="facts step-result">
                    {step
                        .result
                        .iter()
                        .map(|(k, v)| view! { <dt>{k.clone()}</dt> <dd><code>{v.clone()}</code></dd> })
                        .collect_view()}
                </dl>
            })}
            {step.review_text.clone().map(|(root, follow)| view! {
                <div class="review-text">
                    <h3>"Root cause"</h3>
                    <p class="comment-body">{root}</p>
                    <h3>"Follow-ups"</h3>
                    <p class="comment-body">{follow}</p>
                </div>
            })}
            {moves}
            {skip}
        </li>
    }
}

/// The moves of a ready step, by kind.
#[component]
fn Moves(
    step: StepView,
    incident: Signal<String>,
    step_key: StoredValue<String>,
    act: ServerAction<ActOnStep>,
    can_approve: Signal<bool>,
    me: Signal<String>,
) -> impl IntoView {
    let view = match step.kind.as_str() {
        "approval" => {
            let requested_by = step
                .record
                .first()
                .filter(|_| step.status == "requested")
                .cloned();
            if step.status == "pending" {
                view! {
                    <ActionForm action=act attr:class="inline">
                        {hidden(incident, step_key)}
                        <input type="hidden" name="command" value="request_approval" />
                        <button type="submit">"Request approval"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                let own = {
                    let record = requested_by.clone().unwrap_or_default();
                    move || record.contains(&format!("requested by {} ", me.get()))
                };
                let own2 = own.clone();
                view! {
                    <p class="muted">{requested_by.unwrap_or_default()}</p>
                    <Show when=move || can_approve.get() && !own()>
                        <ActionForm action=act attr:class="inline">
                            {hidden(incident, step_key)}
                            <input type="hidden" name="command" value="approve" />
                            <button type="submit">"Approve"</button>
                        </ActionForm>
                    </Show>
                    <Show when=move || own2()>
                        <p class="muted">"Another security user must approve your request."</p>
                    </Show>
                }
                .into_any()
            }
        }
        "action" => {
            let granted = step.approval.as_ref().is_none_or(|(_, g)| *g);
            let action = step.action.clone().unwrap_or_default();
            let inputs = action_inputs(&action);
            let run = if granted {
                view! {
                    <ActionForm action=act attr:class="form action-form">
                        {hidden(incident, step_key)}
                        <input type="hidden" name="command" value="complete" />
                        {inputs}
                        <button type="submit" class="danger">{action_label(&action)}</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                let waiting = step
                    .approval
                    .as_ref()
                    .map(|(a, _)| format!("Waits for the approval \u{201c}{a}\u{201d}."))
                    .unwrap_or_default();
                view! { <p class="muted">{waiting}</p> }.into_any()
            };
            let override_form = step.override_possible.then(|| {
                view! {
                    <details class="override">
                        <summary>"Emergency override"</summary>
                        <ActionForm action=act attr:class="form">
                            {hidden(incident, step_key)}
                            <input type="hidden" name="command" value="override" />
                            <label>
                                "Why this cannot wait for a second security engineer (recorded and flagged in the audit log and the review)"
                                <textarea name="reason" required rows="2"></textarea>
                            </label>
                            <button type="submit" class="danger">"Override the approval"</button>
                        </ActionForm>
                    </details>
                }
            });
            view! { {run} {override_form} }.into_any()
        }
        "review" => view! {
            <ActionForm action=act attr:class="form review-form">
                {hidden(incident, step_key)}
                <input type="hidden" name="command" value="complete" />
                <label>
                    "Root cause: how it happened, how it was detected, why T"
                    <textarea name="root_cause" required rows="5"></textarea>
                </label>
                <label>
                    "Follow-ups, with owners and dates"
                    <textarea name="follow_ups" rows="4"></textarea>
                </label>
                <button type="submit">"Save the review"</button>
            </ActionForm>
        }
        .into_any(),
        _ => {
            let note = step.auto_complete.then(|| {
                view! {
                    <p class="muted">
                        "Completes by itself when every active cluster has acknowledged the new bundle. Clusters run by other engines need the exported policy applied: complete it by hand once they have."
                    </p>
                }
            });
            view! {
                {note}
                <ActionForm action=act attr:class="inline">
                    {hidden(incident, step_key)}
                    <input type="hidden" name="command" value="complete" />
                    <button type="submit">"Mark done"</button>
                </ActionForm>
            }
            .into_any()
        }
    };
    view
}

/// The hidden fields every move of a step sends.
fn hidden(incident: Signal<String>, step: StoredValue<String>) -> impl IntoView {
    view! {
        <input type="hidden" name="incident" value=incident />
        <input type="hidden" name="step" value=step.get_value() />
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "contain_key" => "Contain the key now",
        "revoke_key" => "Revoke the key now",
        "retire_key" => "Retire the key",
        "publish_trust_bundle" => "Publish a trust bundle",
        "notify_webhooks" => "Notify the webhooks",
        "register_replacement_key" => "Register the replacement key",
        "update_policies" => "Apply the policy change",
        _ => "Run",
    }
}

/// The inputs an action needs beyond the incident itself.
fn action_inputs(action: &str) -> AnyView {
    match action {
        "contain_key" => view! {
            <fieldset>
                <legend>"Containment"</legend>
                <label class="checkbox">
                    <input type="radio" name="contain_mode" value="compromised" checked />
                    " Compromised since T: signatures recorded before T stay valid"
                </label>
                <label class="checkbox">
                    <input type="radio" name="contain_mode" value="revoke" />
                    " Revoke outright: no signature by the key counts (T unknown)"
                </label>
            </fieldset>
        }
        .into_any(),
        "register_replacement_key" => view! {
            <label>
                "New key name"
                <input name="replacement_name" required maxlength="100" />
            </label>
            <label>
                "Public key (PEM)"
                <textarea name="replacement_pem" required rows="5" placeholder="-----BEGIN PUBLIC KEY-----"></textarea>
            </label>
            <label>
                "Custody"
                <select name="replacement_custody">
                    <option value="kms">"KMS"</option>
                    <option value="hsm">"HSM"</option>
                    <option value="file">"file"</option>
                </select>
            </label>
        }
        .into_any(),
        "update_policies" => view! {
            <details>
                <summary>"Apply other documents instead (optional)"</summary>
                <label>
                    "Policy and key-group YAML to apply instead of the change shown above"
                    <textarea name="policy_yaml" rows="6"></textarea>
                </label>
            </details>
        }
        .into_any(),
        _ => ().into_any(),
    }
}
