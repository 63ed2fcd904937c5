use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::keys::{get_key, list_signed_images};
use crate::components::error_box::ErrorBox;
use crate::components::key_alerts::KeyAlerts;
use crate::components::trusted_by::TrustedBy;
use crate::components::usage_chart::UsageChart;
use crate::model::{KeyPageView, SignedImagesPage};
use crate::pages::keys::short;

/// One signing key: its facts and the policies that trust it, how much it signed per day and by
/// whom, from which hosts, and the images it signed, newest first. The first page a security
/// engineer opens when a key is in doubt: what would a leak of this key have reached?
#[component]
pub fn KeyPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let fingerprint = move || params.read().get("fingerprint").unwrap_or_default();
    let key = Resource::new(fingerprint, get_key);
    let images = Resource::new(
        move || (fingerprint(), query.read().get("before")),
        |(fingerprint, before)| list_signed_images(fingerprint, before, None),
    );
    view! {
        <Title text="Key" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match key.await {
                    Err(e) => view! { <h1>"Key"</h1> <ErrorBox error=e /> }.into_any(),
                    Ok(k) => view! { <Facts k /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Images signed"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match images.await {
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        Ok(page) => view! { <SignedImages page fingerprint=fingerprint() /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Facts(k: KeyPageView) -> impl IntoView {
    let key = k.key;
    let status_class = format!("badge status-{}", key.status);
    let what_if = format!(
        "/what-if?change=revoke&key={}",
        crate::model::percent_encode(&key.name)
    );
    view! {
        <Title text=format!("Key {}", key.name) />
        <p class="muted"><a href="/keys">"Keys"</a> " / " {key.name.clone()}</p>
        <h1>{key.name.clone()}</h1>
        <section class="card" data-key=key.name.clone()>
            <dl class="facts">
                <dt>"Fingerprint"</dt> <dd><code class="detail">{key.fingerprint.clone()}</code></dd>
                <dt>"Owner"</dt> <dd>{key.owner_team}</dd>
                <dt>"Algorithm"</dt> <dd>{key.algorithm}</dd>
                <dt>"Custody"</dt>
                <dd>{key.custody} {k.custody_uri.map(|u| view! { " " <code class="detail">{u}</code> })}</dd>
                <dt>"Status"</dt>
                <dd><span class=status_class>{key.status}</span> " " <span class="muted">{key.status_detail}</span></dd>
                <dt>"Valid"</dt> <dd>{key.valid_from} " until " {key.valid_until}</dd>
                <dt>"Rotation"</dt>
                <dd class:overdue=key.rotation_overdue>
                    {key.rotation}
                    {key.rotation_overdue.then(|| view! { " " <span class="badge status-revoked">"overdue"</span> })}
                </dd>
                <dt>"Last used"</dt>
                <dd data-last-used>{key.last_used} " " <span class="muted">"(" {key.last_used_ago} ")"</span></dd>
                <dt>"Trusted by"</dt>
                <dd><TrustedBy trusted_by=key.trusted_by /></dd>
            </dl>
            <details>
                <summary>"Public key"</summary>
                <pre>{key.public_key_pem}</pre>
            </details>
            {k.can_change.then(|| view! {
                <p>
                    <a href=what_if data-what-if-link>"What breaks if revoked?"</a>
                    " " <span class="muted">"Replays the last week's admissions without this key; changes nothing."</span>
                </p>
            })}
        </section>
        <KeyAlerts alerts=k.alerts />
        <section class="card">
            <h2>{format!("Signatures per day, last {} days", k.usage_days)}</h2>
            <UsageChart usage=k.usage />
        </section>
        <section class="card">
            <h2>"Signer identities and hosts"</h2>
            {(k.signers_total > k.signers.len() as i64)
                .then(|| view! {
                    <p class="muted">
                        {format!("The {} most recently seen of {} identity and host pairs.", k.signers.len(), k.signers_total)}
                    </p>
                })}
            {if k.signers.is_empty() {
                view! { <p class="muted">"No signing event names this key."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="signers">
                            <thead>
                                <tr>
                                    <th>"Identity"</th>
                                    <th>"Host"</th>
                                    <th class="num">"Signatures"</th>
                                    <th>"First seen"</th>
                                    <th>"Last seen"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {k.signers
                                    .into_iter()
                                    .map(|s| view! {
                                        <tr>
                                            <td><code class="detail">{s.identity}</code></td>
                                            <td>{s.host.unwrap_or_else(|| "—".into())}</td>
                                            <td class="num">{s.signatures}</td>
                                            <td>{s.first_seen}</td>
                                            <td>{s.last_seen}</td>
                                        </tr>
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn SignedImages(page: SignedImagesPage, fingerprint: String) -> impl IntoView {
    if page.images.is_empty() {
        return view! { <p class="muted">"No images signed with this key are recorded."</p> }
            .into_any();
    }
    let next = page.next.map(|n| format!("/keys/{fingerprint}?before={n}"));
    view! {
        <div class="table-wrap">
            <table class="signed-images">
                <thead>
                    <tr>
                        <th>"Recorded"</th>
                        <th>"Image"</th>
                        <th>"Digest"</th>
                        <th>"Signer"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .images
                        .into_iter()
                        .map(|i| view! {
                            <tr data-digest=i.digest.clone()>
                                <td>{i.recorded}</td>
                                <td>{i.image}</td>
                                <td>
                                    <a href=format!("/images/{}", i.digest) title=i.digest.clone()>
                                        <code>{short(&i.digest)}</code>
                                    </a>
                                </td>
                                <td>
                                    <code class="detail">{i.identity}</code>
                                    {i.host.map(|h| view! { <br /> <span class="muted">{h}</span> })}
                                </td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages of signed images">
            <a href=format!("/keys/{fingerprint}")>"Newest"</a>
            {next.map(|n| view! { <a href=n rel="next">"Older →"</a> })}
        </nav>
    }
    .into_any()
}
