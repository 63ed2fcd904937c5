use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::keys::list_keys;
use crate::api::policies::what_if;
use crate::components::error_box::ErrorBox;
use crate::model::{KeysView, WhatIfRowView, WhatIfView, WHAT_IF_CHANGES};

/// The days replayed unless the form says otherwise (the server applies the same default).
const DEFAULT_DAYS: i64 = 7;

/// What the URL asks: `?change=revoke|compromise&key=NAME&since=…&days=N`.
#[derive(Debug, Clone, PartialEq)]
struct WhatIfQuery {
    change: Option<String>,
    key: Option<String>,
    since: Option<String>,
    days: Option<String>,
}

/// "What breaks if I revoke this key?", asked before acting: the last days of recorded
/// admissions replayed against the trust bundle with the change made in memory, listing the
/// workloads that would be refused. The form is a plain GET, so a link shares the question and
/// its answer, and the page works before it has hydrated.
#[component]
pub fn WhatIfPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        query_map.with(|q| {
            let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
            WhatIfQuery {
                change: get("change"),
                key: get("key"),
                since: get("since"),
                days: get("days"),
            }
        })
    });
    let keys = Resource::new(|| (), |_| list_keys());
    let answer = Resource::new(
        move || query.get(),
        |q| async move {
            match q.key {
                // No question asked yet: only the form.
                None => Ok(None),
                Some(key) => what_if(q.change, key, q.since, q.days).await.map(Some),
            }
        },
    );
    view! {
        <Title text="What if" />
        <h1>"What if"</h1>
        <p class="muted">
            "What would break if a key were revoked, or turned out to be compromised since a time? "
            "The admissions clusters reported are replayed against the trust bundle with that change; nothing is changed or published."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                match keys.await {
                    Ok(keys) => view! { <Question q keys /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="muted">"Replaying…"</p> }>
            {move || Suspend::new(async move {
                match answer.await {
                    Ok(None) => ().into_any(),
                    Ok(Some(v)) => view! { <Answer v /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Question(q: WhatIfQuery, keys: KeysView) -> impl IntoView {
    let change = q.change.unwrap_or_else(|| "revoke".into());
    let key = q.key.unwrap_or_default();
    let days = q.days.unwrap_or_else(|| DEFAULT_DAYS.to_string());
    view! {
        <form method="get" action="/what-if" class="filters card" data-what-if-form>
            <label>
                "Change"
                <select name="change">
                    {WHAT_IF_CHANGES
                        .iter()
                        .map(|(value, label)| {
                            let selected = *value == change;
                            view! { <option value=*value selected=selected>{*label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Key"
                <select name="key" required>
                    <option value="" selected=key.is_empty()>"choose a key"</option>
                    {keys
                        .keys
                        .into_iter()
                        .map(|k| {
                            let selected = k.name == key;
                            let label = format!("{} ({})", k.name, k.status);
                            view! { <option value=k.name selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Compromised since (UTC)"
                <input type="datetime-local" name="since" value=q.since.unwrap_or_default() />
            </label>
            <label>
                "Days replayed"
                <input type="number" name="days" min="1" max="30" value=days />
            </label>
            <button type="submit" class="primary">"Show what breaks"</button>
        </form>
        <p class="muted">
            "To try a policy change instead (requiring 2 of 3 signatures, say), use the dry run on the "
            <a href="/policies">"Policies"</a> " page: it replays the same admissions."
        </p>
    }
}

#[component]
fn Answer(v: WhatIfView) -> impl IntoView {
    let days = v.window_days;
    let nothing = v.newly_refused.is_empty();
    view! {
        <section class="card" data-what-if>
            <h2>{v.change}</h2>
            <p data-replayed>
                {format!(
                    "Replayed {} distinct image placements ({} admissions) of the last {} days: refused {} → {}.",
                    v.placements, v.admissions, days, v.refused_now, v.refused_after,
                )}
                {v.truncated.then_some(" Only the most frequent placements were judged.")}
            </p>
            <p class="muted">
                "Judged with the signatures Trustwatch recorded in signing events; signatures that exist only in a registry are not fetched."
            </p>
            {if nothing {
                view! {
                    <p class="notice ok" role="status" data-nothing-refused>
                        {format!("Nothing recorded in the last {days} days would be refused.")}
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <h3>"Would be refused"</h3>
                    <Rows rows=v.newly_refused verdicts=false id="would-be-refused" />
                }
                    .into_any()
            }}
            {(!v.other_changes.is_empty()).then(|| view! {
                <h3>"Other verdict changes"</h3>
                <Rows rows=v.other_changes verdicts=true id="other-changes" />
            })}
        </section>
    }
}

/// Placements, most admissions first; `verdicts` adds the before and after columns.
#[component]
fn Rows(rows: Vec<WhatIfRowView>, verdicts: bool, id: &'static str) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table id=id>
                <thead>
                    <tr>
                        <th>"Image"</th>
                        <th>"Digest"</th>
                        <th>"Cluster"</th>
                        <th>"Namespace"</th>
                        <th class="num">"Admissions"</th>
                        {verdicts.then(|| view! { <th>"Now"</th> <th>"After"</th> })}
                        <th>"Why"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            let digest = match (r.digest, r.digest_short) {
                                (Some(d), Some(short)) => view! {
                                    <a href=format!("/images/{d}") title=d.clone()>
                                        <code>{short}</code>
                                    </a>
                                }
                                    .into_any(),
                                _ => view! { <span class="muted">"none"</span> }.into_any(),
                            };
                            view! {
                                <tr>
                                    <td><code>{r.image}</code></td>
                                    <td>{digest}</td>
                                    <td>{r.cluster}</td>
                                    <td>{r.namespace}</td>
                                    <td class="num">{r.admissions}</td>
                                    {verdicts.then(|| view! { <td>{r.now}</td> <td><strong>{r.after}</strong></td> })}
                                    <td>{r.summary}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
