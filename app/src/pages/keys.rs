use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::keys::{list_keys, ImportKey, SetKeyStatus};
use crate::components::error_box::ErrorBox;
use crate::components::trusted_by::TrustedBy;
use crate::model::KeyView;

const STATUSES: [&str; 4] = ["active", "retiring", "revoked", "compromised"];
const CUSTODIES: [&str; 3] = ["file", "kms", "hsm"];

/// The key inventory: who owns each key, where its private half lives, its lifecycle status,
/// when it last signed and which policies trust it; each name opens the key's page.
/// Security and admin users import keys and change their status here; every change is audited
/// and publishes a new trust-bundle version, which is what makes a revocation reach clusters.
#[component]
pub fn KeysPage() -> impl IntoView {
    let import = ServerAction::<ImportKey>::new();
    let set_status = ServerAction::<SetKeyStatus>::new();
    let keys = Resource::new(
        move || (import.version().get(), set_status.version().get()),
        |_| list_keys(),
    );
    view! {
        <Title text="Keys" />
        <h1>"Keys"</h1>
        {move || published(import.value().get(), "Key imported.")}
        {move || published(set_status.value().get(), "Status changed.")}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(view) => {
                        let can_change = view.can_change;
                        view! {
                            <p class="muted">
                                {match view.bundle_version {
                                    Some(v) => format!("Trust bundle version {v} is current."),
                                    None => "No trust bundle has been published yet.".into(),
                                }}
                            </p>
                            <section class="card">
                                <div class="table-wrap">
                                    <table class="keys">
                                        <thead>
                                            <tr>
                                                <th>"Name"</th>
                                                <th>"Owner"</th>
                                                <th>"Algorithm"</th>
                                                <th>"Custody"</th>
                                                <th>"Status"</th>
                                                <th>"Valid"</th>
                                                <th>"Rotation"</th>
                                                <th>"Last used"</th>
                                                <th>"Trusted by"</th>
                                                {can_change.then(|| view! { <th>"Change status"</th> })}
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {view
                                                .keys
                                                .into_iter()
                                                .map(|k| view! { <KeyRow key=k can_change set_status /> })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                            {can_change.then(|| view! { <ImportForm import /> })}
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn published(
    r: Option<Result<Option<u64>, crate::error::AppError>>,
    ok: &'static str,
) -> Option<AnyView> {
    r.map(|r| match r {
        Ok(Some(v)) => view! {
            <p class="notice ok" role="status">{ok} " Trust bundle version " {v} " published."</p>
        }
        .into_any(),
        Ok(None) => view! { <p class="notice ok" role="status">"Nothing changed."</p> }.into_any(),
        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
    })
}

#[component]
fn KeyRow(key: KeyView, can_change: bool, set_status: ServerAction<SetKeyStatus>) -> impl IntoView {
    let status_class = format!("badge status-{}", key.status);
    let name = key.name.clone();
    let current = key.status.clone();
    view! {
        <tr data-key=key.name.clone()>
            <td>
                <strong><a href=format!("/keys/{}", key.fingerprint)>{key.name.clone()}</a></strong>
                <br />
                <code class="muted" title=key.fingerprint.clone()>{short(&key.fingerprint)}</code>
                <details>
                    <summary>"Public key"</summary>
                    <pre>{key.public_key_pem}</pre>
                </details>
            </td>
            <td>{key.owner_team}</td>
            <td>{key.algorithm}</td>
            <td>{key.custody}</td>
            <td>
                <span class=status_class>{key.status}</span>
                <br />
                <span class="muted">{key.status_detail}</span>
            </td>
            <td>{key.valid_from} <br /> <span class="muted">"until " {key.valid_until}</span></td>
            <td class:overdue=key.rotation_overdue>
                {key.rotation}
                {key.rotation_overdue.then(|| view! { <br /> <span class="badge status-revoked">"overdue"</span> })}
            </td>
            <td title=key.last_used.clone()>{key.last_used_ago}</td>
            <td><TrustedBy trusted_by=key.trusted_by /></td>
            {can_change.then(|| view! {
                <td>
                    <ActionForm action=set_status attr:class="inline">
                        <input type="hidden" name="name" value=name />
                        <select name="status" aria-label="New status">
                            {STATUSES
                                .iter()
                                .map(|s| view! { <option value=*s selected=*s == current>{*s}</option> })
                                .collect_view()}
                        </select>
                        <input type="datetime-local" name="since" aria-label="Since (UTC)" title="Since (UTC): required for compromised" />
                        <button type="submit">"Set"</button>
                    </ActionForm>
                </td>
            })}
        </tr>
    }
}

#[component]
fn ImportForm(import: ServerAction<ImportKey>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Import a public key"</h2>
            <p class="muted">
                "Paste the " <code>"cosign.pub"</code> " (PEM, "
                <code>"-----BEGIN PUBLIC KEY-----"</code>
                "). ECDSA P-256/P-384, Ed25519 and RSA keys are accepted. Private keys never belong here."
            </p>
            <ActionForm action=import attr:class="form">
                <label>"Name" <input name="name" required maxlength="100" placeholder="ci-release" /></label>
                <label>"Owning team" <input name="owner_team" required maxlength="100" placeholder="platform" /></label>
                <label>
                    "Custody of the private key"
                    <select name="custody">
                        {CUSTODIES.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Rotation period in days (optional)" <input name="rotation_period_days" inputmode="numeric" /></label>
                <label>
                    "Public key (PEM)"
                    <textarea name="public_key_pem" rows="6" required spellcheck="false"></textarea>
                </label>
                <button type="submit" class="primary">"Import key"</button>
            </ActionForm>
        </section>
    }
}

/// The first 12 hex digits of a `sha256:` fingerprint, as people read them.
pub(crate) fn short(fingerprint: &str) -> String {
    let hex = fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}
