use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin::{
    list_tokens, list_users, CreateToken, CreateUser, RevokeToken, SetRole, SetUserDisabled,
};
use crate::components::error_box::ErrorBox;

const ROLES: [&str; 5] = ["viewer", "developer", "security", "admin", "auditor"];
const SCOPES: [&str; 4] = ["ingest:verification", "ingest:signing", "read", "admin"];

/// People and machine tokens. Only admins get data here; the server refuses everyone else.
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin" />
        <h1>"Administration"</h1>
        <Users />
        <Tokens />
    }
}

fn outcome<T: 'static>(
    r: Option<Result<T, crate::error::AppError>>,
    ok: &'static str,
) -> Option<AnyView> {
    r.map(|r| match r {
        Ok(_) => view! { <p class="notice ok" role="status">{ok}</p> }.into_any(),
        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
    })
}

#[component]
fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetRole>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                set_disabled.version().get(),
            )
        },
        |_| list_users(),
    );
    view! {
        <section class="card">
            <h2>"People"</h2>
            {move || outcome(create.value().get(), "Account created. They will choose their own password at first login.")}
            {move || outcome(set_role.value().get(), "Role changed.")}
            {move || outcome(set_disabled.value().get(), "Account updated.")}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        Ok(users) => view! {
                            <div class="table-wrap">
                                <table class="users">
                                    <thead>
                                        <tr>
                                            <th>"E-mail"</th>
                                            <th>"Role"</th>
                                            <th>"Status"</th>
                                            <th>"Last login"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {users
                                            .into_iter()
                                            .map(|u| {
                                                let id = u.id.clone();
                                                let id2 = u.id.clone();
                                                let current = u.role.clone();
                                                let email = u.email.clone();
                                                view! {
                                                    <tr data-email=email>
                                                        <td>{u.email}</td>
                                                        <td>
                                                            <ActionForm action=set_role attr:class="inline">
                                                                <input type="hidden" name="user_id" value=id />
                                                                <select name="role" aria-label="Role">
                                                                    {ROLES
                                                                        .iter()
                                                                        .map(|r| view! { <option value=*r selected=*r == current>{*r}</option> })
                                                                        .collect_view()}
                                                                </select>
                                                                <button type="submit">"Set"</button>
                                                            </ActionForm>
                                                        </td>
                                                        <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                                        <td>{u.last_login}</td>
                                                        <td>
                                                            <ActionForm action=set_disabled attr:class="inline">
                                                                <input type="hidden" name="user_id" value=id2 />
                                                                <input type="hidden" name="disabled" value=(!u.disabled).to_string() />
                                                                <button type="submit">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=create attr:class="form inline-form">
                <h3>"New account"</h3>
                <label>"E-mail" <input type="email" name="email" required /></label>
                <label>
                    "Role"
                    <select name="role">
                        {ROLES.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "One-time password"
                    <input type="text" name="password" required minlength="12" autocomplete="off" />
                </label>
                <button type="submit" class="primary">"Create account"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let created = move || {
        create.value().get().map(|r| match r {
            Ok(t) => view! {
                <div class="notice ok" role="status">
                    <p>"Token " <strong>{t.name}</strong> " created. Copy it now: it is shown only this once."</p>
                    <pre class="secret" data-token>{t.value}</pre>
                </div>
            }
            .into_any(),
            Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <section class="card">
            <h2>"Machine tokens"</h2>
            <p class="muted">
                "Clusters, CI signers and scripts authenticate with these as "
                <code>"Authorization: Bearer …"</code> ". Only a hash is stored."
            </p>
            {created}
            {move || outcome(revoke.value().get(), "Token revoked.")}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        Ok(tokens) => view! {
                            <div class="table-wrap">
                                <table class="tokens">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Token"</th>
                                            <th>"Scopes"</th>
                                            <th>"Cluster"</th>
                                            <th>"Created"</th>
                                            <th>"Last used"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {tokens
                                            .into_iter()
                                            .map(|t| {
                                                let id = t.id.clone();
                                                view! {
                                                    <tr class:revoked=t.revoked>
                                                        <td>{t.name}</td>
                                                        <td><code>{t.prefix} "…"</code></td>
                                                        <td>{t.scopes.join(", ")}</td>
                                                        <td>
                                                            {t.cluster.unwrap_or_else(|| "any registered".into())}
                                                            {t.may_register_clusters.then_some(" · may register new")}
                                                        </td>
                                                        <td>{t.created_at} <br /> <span class="muted">{t.created_by}</span></td>
                                                        <td>{t.last_used}</td>
                                                        <td>
                                                            {if t.revoked {
                                                                view! { <span class="badge">"revoked"</span> }.into_any()
                                                            } else {
                                                                view! {
                                                                    <ActionForm action=revoke attr:class="inline">
                                                                        <input type="hidden" name="token_id" value=id />
                                                                        <button type="submit" class="danger">"Revoke"</button>
                                                                    </ActionForm>
                                                                }
                                                                    .into_any()
                                                            }}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=create attr:class="form inline-form">
                <h3>"New token"</h3>
                <label>"Name" <input name="name" required maxlength="100" /></label>
                <fieldset>
                    <legend>"Scopes"</legend>
                    {SCOPES
                        .iter()
                        .map(|s| view! { <label class="check"><input type="checkbox" name="scopes[]" value=*s /> {*s}</label> })
                        .collect_view()}
                </fieldset>
                <label>"Bound to cluster (optional)" <input name="cluster" placeholder="prod-eu-1" /></label>
                <label class="check">
                    <input type="checkbox" name="register_clusters" value="on" />
                    "May register new clusters"
                </label>
                <button type="submit" class="primary">"Create token"</button>
            </ActionForm>
        </section>
    }
}
