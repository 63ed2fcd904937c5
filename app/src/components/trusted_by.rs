use leptos::prelude::*;

use crate::model::TrustView;

/// The policies that accept a key's signatures, each with its mode and the group it goes
/// through.
#[component]
pub fn TrustedBy(trusted_by: Vec<TrustView>) -> impl IntoView {
    if trusted_by.is_empty() {
        return view! { <span class="muted">"no policy"</span> }.into_any();
    }
    view! {
        <ul class="trusted-by">
            {trusted_by
                .into_iter()
                .map(|t| {
                    let policy = t.policy.clone();
                    view! {
                        <li data-policy=policy>
                            {t.policy} " " <span class=format!("badge mode-{}", t.mode)>{t.mode.clone()}</span>
                            {t.via_group.map(|g| view! { <br /> <span class="muted">"through group " {g}</span> })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
