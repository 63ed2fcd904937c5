use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::{current_user, ChangePassword};

/// The caller's own account: who they are, and changing their password (required after a
/// one-time password).
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    let change = ServerAction::<ChangePassword>::new();
    let result = change.value();
    view! {
        <Title text="Account" />
        <h1>"Your account"</h1>
        <Suspense>
            {move || Suspend::new(async move {
                me.await
                    .ok()
                    .map(|me| {
                        view! {
                            <Show when=move || me.must_change_password>
                                <p class="notice warn" role="alert">
                                    "You logged in with a one-time password. Choose your own before going on."
                                </p>
                            </Show>
                        }
                    })
            })}
        </Suspense>
        <ActionForm action=change attr:class="card form">
            <h2>"Change password"</h2>
            <label>
                "Current password"
                <input type="password" name="current" autocomplete="current-password" required />
            </label>
            <label>
                "New password (at least 12 characters)"
                <input type="password" name="new_password" autocomplete="new-password" required minlength="12" />
            </label>
            <label>
                "New password again"
                <input type="password" name="confirm" autocomplete="new-password" required minlength="12" />
            </label>
            <button type="submit" class="primary">"Change password"</button>
            {move || {
                result
                    .get()
                    .map(|r| match r {
                        Ok(()) => view! { <p class="notice ok" role="status">"Your password has been changed."</p> }.into_any(),
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </ActionForm>
    }
}
