use leptos::prelude::*;
use leptos_router::components::A;

/// The main navigation, in the order people use it: status first, administration last.
#[component]
pub fn Nav() -> impl IntoView {
    const LINKS: &[(&str, &str)] = &[
        ("/", "Overview"),
        ("/rejections", "Rejections"),
        ("/images", "Images"),
        ("/keys", "Keys"),
        ("/policies", "Policies"),
        ("/incidents", "Incidents"),
        ("/trends", "Trends"),
        ("/alerts", "Alerts"),
        ("/audit", "Audit"),
        ("/admin", "Admin"),
    ];
    view! {
        <nav class="main-nav" aria-label="Main">
            <ul>
                {LINKS
                    .iter()
                    .map(|(href, label)| {
                        view! {
                            <li>
                                <A href=*href exact=true>
                                    {*label}
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
