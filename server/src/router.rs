//! Assembling the HTTP application: machine APIs, login, pages, and the layers around them.

use std::net::SocketAddr;

use anyhow::Context;
use app::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::middleware::{csrf, require_session};
use crate::routes::{admission, api_v1, health, incident_files, login, metrics, trends_csv};
use crate::Settings;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "trustwatch_session";

/// What `build_router` made, beyond the router itself.
pub struct AppParts {
    pub router: Router,
    pub state: AppState,
    /// Stores the admission webhook's verdicts; flushed at shutdown.
    pub recorder: service::verifier::DecisionRecorder,
}

/// Builds the whole application over `pool`. Prepares the session table and the trust bundle
/// (reading or generating the bundle key, publishing when needed); expects the schema to be
/// migrated already.
pub async fn build_router(pool: PgPool, settings: &Settings) -> anyhow::Result<AppParts> {
    // First, so a broken playbook stops start-up before anything else is prepared.
    let playbooks = load_playbooks(settings)?;
    let store = PostgresStore::new(pool.clone());
    store
        .migrate()
        .await
        .context("preparing the session table")?;
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(300)),
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        // Lax, not Strict: a link to a rejection from chat should open logged in. POSTs from
        // other sites are stopped by the Origin check in `csrf`.
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(settings.session_idle_minutes),
        ));

    let publisher = crate::bundle_key::for_server(settings, &pool)
        .await
        .context("preparing the trust bundle")?;
    let state = AppState {
        webhooks: settings.alert_config()?.webhooks,
        playbooks,
        publisher,
        pool,
        throttle: settings.throttle(),
        stale_after: chrono::Duration::minutes(settings.stale_after_minutes),
        trust_forwarded_for: settings.trust_forwarded_for,
    };

    let leptos_options = LeptosOptions::builder()
        .output_name("trustwatch")
        .site_root(settings.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.listen)
        .build();
    let pages = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            generate_route_list(app::App),
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            {
                let options = leptos_options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(app::shell))
        .with_state(leptos_options);

    let admission = admission::AdmissionState::from_settings(state.pool.clone(), settings)?;
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/trends/{file}", get(trends_csv::chart_file))
        .route("/incidents/{id}/{file}", get(incident_files::file))
        .nest("/api/v1", api_v1::router())
        .with_state(state.clone())
        .merge(admission::router(admission.clone()))
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_session::require_session,
        ))
        .layer(axum::middleware::from_fn(csrf::check_origin))
        .layer(sessions)
        .layer(TraceLayer::new_for_http());
    Ok(AppParts {
        router,
        state,
        recorder: admission.recorder,
    })
}

/// The playbook catalog, or an error naming every broken file with its line and reason.
fn load_playbooks(
    settings: &Settings,
) -> anyhow::Result<std::sync::Arc<domain::playbook::Catalog>> {
    match service::playbooks::load_dir(&settings.playbooks_dir) {
        Ok(catalog) => {
            tracing::info!(count = catalog.len(), dir = %settings.playbooks_dir.display(), "playbooks loaded");
            Ok(std::sync::Arc::new(catalog))
        }
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            anyhow::bail!(
                "the playbooks in {} cannot be used (set playbooks_dir or TRUSTWATCH_PLAYBOOKS_DIR to another directory):\n{}",
                settings.playbooks_dir.display(),
                lines.join("\n")
            )
        }
    }
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    // Pages stream in several writes (the shell first, then each resolved part). With Nagle's
    // algorithm a small write waits for the client's delayed ACK of the one before: measured
    // 40 ms added to every page render here (`scripts/bench pages`). The TLS listener does the
    // same for HTTPS.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
