use leptos::prelude::*;
use leptos_meta::Title;

/// A section whose page is not built yet: it says so, and what it will hold.
#[component]
pub fn PlannedPage(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <div class="card">
            <p>{what}</p>
            <p class="muted">"This page is not built yet; the data behind it is already being recorded."</p>
        </div>
    }
}
