use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::api::account::current_user;
use crate::components::nav::Nav;

/// Header, navigation and the signed-in person around every page but login.
#[component]
pub fn Layout() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <header class="top">
            <a class="brand" href="/">
                <span class="mark" aria-hidden="true">"◆"</span>
                " Trustwatch"
            </a>
            <Nav />
            <div class="who">
                <Suspense>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(me) => {
                                view! {
                                    <a class="me" href="/account" title="Your account">
                                        {me.email}
                                        " "
                                        <span class="badge">{me.role}</span>
                                    </a>
                                    <form method="post" action="/logout" class="inline">
                                        <button type="submit" class="link">
                                            "Log out"
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            }
                            Err(_) => view! { <a href="/login" rel="external">"Log in"</a> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </header>
        <main class="page">
            <Outlet />
        </main>
    }
}
