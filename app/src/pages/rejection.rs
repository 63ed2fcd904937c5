use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::rejections::get_rejection;
use crate::components::error_box::ErrorBox;
use crate::model::{AdviceView, CheckView, RejectionView};

/// One refused or warned admission, explained: the page the admission webhook's message links
/// to. What was refused and where, the reason in a sentence, the checks as a tree, the other
/// engine's raw text, and the other refusals of the same digest.
#[component]
pub fn RejectionPage() -> impl IntoView {
    let params = use_params_map();
    let rejection = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        get_rejection,
    );
    view! {
        <Title text="Rejection" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rejection.await {
                    Err(e) => view! { <h1>"Rejection"</h1> <ErrorBox error=e /> }.into_any(),
                    Ok(r) => view! { <Detail r /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(r: RejectionView) -> impl IntoView {
    let pinned = match &r.digest {
        Some(d) if !r.image.contains('@') => format!("{}@{d}", r.image),
        _ => r.image.clone(),
    };
    view! {
        <h1>{format!("{} — {}", r.outcome, r.reason)}</h1>
        <section class="card" data-rejection=r.id.clone()>
            <p><strong>{r.reason_summary}</strong></p>
            {r.message.map(|m| view! { <pre class="message">{m}</pre> })}
            <dl class="facts">
                <dt>"Image"</dt> <dd><code>{pinned}</code></dd>
                <dt>"Where"</dt> <dd>{r.cluster} " / " {r.namespace} " / " {r.workload}</dd>
                <dt>"Engine"</dt> <dd>{r.engine}</dd>
                <dt>"Policy"</dt> <dd>{r.policy.unwrap_or_else(|| "—".into())}</dd>
                <dt>"Observed"</dt> <dd>{r.observed} <span class="muted">" (received " {r.received} ")"</span></dd>
                <dt>"Keys involved"</dt>
                <dd>{if r.keys.is_empty() { "none".into() } else { r.keys.join(", ") }}</dd>
            </dl>
        </section>
        <Fix remediation=r.remediation now=r.now />
        <section class="card">
            <h2>"Checks"</h2>
            {(r.checks.is_empty() && r.raw_checks.is_none())
                .then(|| view! { <p class="muted">"The engine reported no structured checks."</p> })}
            <ul class="checks">{r.checks.into_iter().map(check).collect_view()}</ul>
            {r.raw_checks.map(|raw| view! { <pre>{raw}</pre> })}
        </section>
        <section class="card">
            <h2>"Other refusals of this digest"</h2>
            {if r.related.is_empty() {
                view! { <p class="muted">"None recorded."</p> }.into_any()
            } else {
                view! {
                    <ul class="related">
                        {r.related
                            .into_iter()
                            .map(|o| view! {
                                <li>
                                    <a href=format!("/rejections/{}", o.id)>{o.observed}</a>
                                    " " {o.cluster} " / " {o.namespace} ": " {o.outcome} " — " {o.reason}
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

/// How to fix it: the verifier's own remediation when it refused, and the refusal judged again
/// against today's policies and recorded signatures (which is all another engine's refusal gets).
#[component]
fn Fix(remediation: Vec<String>, now: Option<AdviceView>) -> impl IntoView {
    let recorded = (!remediation.is_empty()).then(|| {
        view! {
            <p>"The verifier proposed, when it refused:"</p>
            <ol class="remediation" data-remediation="recorded">
                {remediation.into_iter().map(|step| view! { <li><code>{step}</code></li> }).collect_view()}
            </ol>
        }
    });
    let now = match now {
        None => view! { <p class="muted">"No trust bundle is published yet, so it cannot be judged again."</p> }.into_any(),
        Some(a) if a.admitted_now => view! {
            <p class="notice ok" data-now="admitted">
                "Judged again now (trust bundle v" {a.bundle_version} ", signatures recorded by Trustwatch): it would be admitted. "
                {a.summary}
            </p>
        }
        .into_any(),
        Some(a) => view! {
            <p data-now="refused">
                "Judged again now (trust bundle v" {a.bundle_version} ", signatures recorded by Trustwatch; signatures only in the registry are not fetched for this page): "
                {a.summary}
            </p>
            {(!a.remediation.is_empty()).then(|| view! {
                <ol class="remediation" data-remediation="now">
                    {a.remediation.into_iter().map(|step| view! { <li><code>{step}</code></li> }).collect_view()}
                </ol>
            })}
        }
        .into_any(),
    };
    view! {
        <section class="card">
            <h2>"How to fix it"</h2>
            {recorded}
            {now}
        </section>
    }
}

/// One node of the check tree and, below it, its children.
fn check(c: CheckView) -> AnyView {
    let verdict = if c.passed { "passed" } else { "failed" };
    let mut facts = Vec::new();
    if let Some(reason) = c.reason {
        facts.push(reason);
    }
    if let Some(expected) = c.expected {
        facts.push(format!("expected {expected}"));
    }
    if let Some(found) = c.found {
        facts.push(format!("found {found}"));
    }
    if let Some(source) = c.source {
        facts.push(format!("from {source}"));
    }
    view! {
        <li class:failed=!c.passed>
            <span class=format!("badge check-{verdict}")>{verdict}</span>
            " " <strong>{c.subject}</strong> ": " {c.detail}
            {(!facts.is_empty()).then(|| view! { <span class="muted">{format!(" ({})", facts.join("; "))}</span> })}
            {(!c.children.is_empty())
                .then(|| view! { <ul>{c.children.into_iter().map(check).collect_view()}</ul> })}
        </li>
    }
    .into_any()
}
