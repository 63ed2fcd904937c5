use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::policies::{list_policies, ApplyPolicies, IMPACT_WINDOW_DAYS};
use crate::components::error_box::ErrorBox;
use crate::model::PolicyApplyView;

/// A starting point for a new policy; the schema is in docs/policy.md.
const TEMPLATE: &str = "apiVersion: trustwatch.dev/v1
kind: Policy
metadata:
  name: my-policy
spec:
  images: [\"registry.example.com/team/**\"]
  clusters: [\"prod-*\"]
  namespaces: [\"*\"]
  mode: warn
  identity: repository
  requireDigest: false
  authorities:
    threshold: 1
    keys: [ci-release]
";

/// Verification policies as code. Everyone may read them; security and admin users edit them
/// here (or apply files with `trustwatch policy apply`). "Dry run" — ticked by default — shows
/// the diff and what the change would have done to the last week's admissions, storing nothing.
#[component]
pub fn PoliciesPage() -> impl IntoView {
    let apply = ServerAction::<ApplyPolicies>::new();
    let policies = Resource::new(move || apply.version().get(), |_| list_policies());
    let text = RwSignal::new(TEMPLATE.to_owned());
    view! {
        <Title text="Policies" />
        <h1>"Policies"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match policies.await {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(view) => {
                        let can_change = view.can_change;
                        view! {
                            <p class="muted">
                                {match view.bundle_version {
                                    Some(v) => format!("Trust bundle version {v} is current. "),
                                    None => "No trust bundle has been published yet. ".into(),
                                }}
                                "Every matching policy must pass; images no policy covers get the bundle's default action."
                            </p>
                            <section class="card">
                                <h2>"Policies"</h2>
                                {view.policies.is_empty().then(|| view! { <p class="muted">"No policies yet."</p> })}
                                <ul class="policy-list">
                                    {view
                                        .policies
                                        .into_iter()
                                        .map(|p| {
                                            let yaml = p.yaml.clone();
                                            let name = p.name.clone();
                                            view! {
                                                <li data-policy=name>
                                                    <details>
                                                        <summary>
                                                            <strong>{p.name}</strong> " "
                                                            <span class="badge">{p.mode}</span>
                                                            <span class="muted">
                                                                " version " {p.version} ", changed " {p.updated} " by " {p.updated_by}
                                                            </span>
                                                        </summary>
                                                        <pre>{p.yaml}</pre>
                                                        {can_change.then(|| view! {
                                                            <button type="button" on:click=move |_| text.set(yaml.clone())>"Edit"</button>
                                                        })}
                                                    </details>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                <details>
                                    <summary>"Key groups"</summary>
                                    <pre>{view.key_groups_yaml}</pre>
                                </details>
                            </section>
                            {can_change.then(|| view! { <Editor apply text /> })}
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Editor(apply: ServerAction<ApplyPolicies>, text: RwSignal<String>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Create or change"</h2>
            <p class="muted">
                "One or more " <code>"Policy"</code> " or " <code>"KeyGroup"</code>
                " documents, separated by " <code>"---"</code>
                ". A document with an existing name replaces it. Applying is audited and publishes a new trust-bundle version."
            </p>
            <ActionForm action=apply attr:class="form">
                <label>
                    "Documents (YAML or JSON)"
                    <textarea
                        name="documents"
                        rows="18"
                        spellcheck="false"
                        prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev))
                    ></textarea>
                </label>
                <label class="check">
                    <input type="checkbox" name="dry_run" value="true" checked />
                    "Dry run: show the diff and the effect on the last " {IMPACT_WINDOW_DAYS} " days of admissions; store nothing"
                </label>
                <button type="submit" class="primary">"Check or apply"</button>
            </ActionForm>
            {move || apply.value().get().map(|r| match r {
                Ok(outcome) => view! { <Outcome outcome /> }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Outcome(outcome: PolicyApplyView) -> impl IntoView {
    let headline = match (outcome.dry_run, outcome.bundle_version) {
        (true, _) => "Dry run: nothing was stored.".to_owned(),
        (false, Some(v)) => format!("Applied. Trust bundle version {v} published."),
        (false, None) => "Nothing changed.".to_owned(),
    };
    view! {
        <div class="notice ok" role="status" data-outcome>
            <p>{headline}</p>
        </div>
        {outcome
            .changes
            .into_iter()
            .map(|c| view! {
                <h3>{c.kind} " " {c.name} ": " {c.change}</h3>
                {(!c.diff.is_empty()).then(|| view! { <pre class="diff">{c.diff}</pre> })}
            })
            .collect_view()}
        {outcome.impact.map(|i| view! {
            <h3>"Effect on recorded admissions"</h3>
            <p data-impact>
                {format!(
                    "Judged {} distinct image placements ({} admissions) of the last {} days: refused {} → {}, warned {} → {}.",
                    i.placements, i.admissions, i.window_days, i.refused_now, i.refused_after, i.warned_now, i.warned_after,
                )}
                {i.truncated.then_some(" Only the most frequent placements were judged.")}
            </p>
            <p class="muted">
                "Judged with the signatures Trustwatch recorded in signing events; signatures that exist only in a registry are not fetched for a dry run."
            </p>
            {(!i.changes.is_empty()).then(|| view! {
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr><th>"Image"</th><th>"Where"</th><th class="num">"Admissions"</th><th>"Now"</th><th>"After"</th><th>"Why"</th></tr>
                        </thead>
                        <tbody>
                            {i.changes.into_iter().map(|c| view! {
                                <tr>
                                    <td><code>{c.image}</code></td>
                                    <td>{c.cluster} " / " {c.namespace}</td>
                                    <td class="num">{c.admissions}</td>
                                    <td>{c.now}</td>
                                    <td><strong>{c.after}</strong></td>
                                    <td>{c.summary}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        })}
    }
}
