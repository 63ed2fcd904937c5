//! The document shell and the route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::components::layout::Layout;
use crate::pages::alerts::AlertsPage;
use crate::pages::trends::TrendsPage;
use crate::pages::what_if::WhatIfPage;
use crate::pages::{
    account::AccountPage, admin::AdminPage, audit::AuditPage, keys::KeysPage, login::LoginPage,
    not_found::NotFound, overview::OverviewPage, policies::PoliciesPage, rejection::RejectionPage,
    rejections::RejectionsPage,
};
use crate::pages::{image::ImagePage, images::ImagesPage, key::KeyPage};
use crate::pages::{incident::IncidentPage, incidents::IncidentsPage};
use leptos_router::SsrMode;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/trustwatch.css" />
        <Title formatter=|page: String| format!("{page} · Trustwatch") />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage />
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("/") view=OverviewPage />
                    <Route path=path!("/rejections") view=RejectionsPage />
                    <Route path=path!("/images") view=ImagesPage />
                    <Route path=path!("/images/:digest") view=ImagePage />
                    <Route path=path!("/rejections/:id") view=RejectionPage />
                    <Route path=path!("/keys") view=KeysPage />
                    <Route path=path!("/keys/:fingerprint") view=KeyPage />
                    <Route path=path!("/policies") view=PoliciesPage />
                    <Route path=path!("/incidents") view=IncidentsPage />
                    <Route path=path!("/incidents/:id") view=IncidentPage />
                    // Async: the answer is in the first response, readable without the script.
                    <Route path=path!("/what-if") view=WhatIfPage ssr=SsrMode::Async />
                    // Async: the whole page, charts included, arrives in the first response, so it
                    // reads without JavaScript (streamed chunks would need a script to show).
                    <Route path=path!("/trends") view=TrendsPage ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=AlertsPage />
                    <Route path=path!("/audit") view=AuditPage />
                    <Route path=path!("/admin") view=AdminPage />
                    <Route path=path!("/account") view=AccountPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
