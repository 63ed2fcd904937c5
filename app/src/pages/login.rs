use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The login form. It posts to the server's `/login` route (not a server function) so it works
/// before the page hydrates and the session cookie is set on a plain redirect.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("credentials") => Some("Wrong e-mail or password.".to_string()),
            Some("throttled") => Some(format!(
                "Too many failed attempts. Try again in {} minutes.",
                q.get("minutes").unwrap_or_else(|| "a few".into())
            )),
            Some("origin") => Some("The form was sent from another site and was refused.".into()),
            Some(_) => Some("Logging in failed; please try again.".into()),
            None => None,
        })
    };
    let notice = move || query.with(|q| q.get("loggedout").is_some());
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    view! {
        <Title text="Log in" />
        <main class="login">
            <form method="post" action="/login" class="card login-card">
                <h1>
                    <span class="mark" aria-hidden="true">"◆"</span>
                    " Trustwatch"
                </h1>
                <p class="muted">"Signing and admission control for your clusters."</p>
                {move || message().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
                <Show when=notice>
                    <p class="notice ok" role="status">"You have logged out."</p>
                </Show>
                <label>
                    "E-mail" <input type="email" name="email" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <input type="hidden" name="next" prop:value=next />
                <button type="submit" class="primary">"Log in"</button>
            </form>
        </main>
    }
}
