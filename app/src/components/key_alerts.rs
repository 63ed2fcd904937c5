use leptos::prelude::*;

use crate::model::KeyAlertView;

/// The open alerts about one key (unusual signing: a new identity or host, a burst, signing
/// after a compromise). Renders nothing when there are none, so a quiet key's page stays quiet.
#[component]
pub fn KeyAlerts(alerts: Vec<KeyAlertView>) -> impl IntoView {
    (!alerts.is_empty()).then(|| {
        view! {
            <section class="card key-alerts" aria-labelledby="key-alerts">
                <h2 id="key-alerts">"Alerts"</h2>
                <ul class="related">
                    {alerts
                        .into_iter()
                        .map(|a| view! {
                            <li data-alert=a.id>
                                <span class=format!("badge severity-{}", a.severity)>{a.severity.clone()}</span>
                                " " {a.summary} " " <span class="muted">{a.raised}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}
