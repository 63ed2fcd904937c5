use leptos::prelude::*;

use crate::error::AppError;

/// A server function's error, said plainly, with a way back in when the session has ended.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let relogin = matches!(error, AppError::Unauthenticated);
    view! {
        <div class="notice error" role="alert">
            <p>{error.to_string()}</p>
            <Show when=move || relogin>
                <p>
                    <a href="/login" rel="external">"Log in again"</a>
                </p>
            </Show>
        </div>
    }
}
