use anyhow::Context;

use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    spawn_maintenance(pool.clone(), settings.event_retention_days);
    let parts = crate::build_router(pool.clone(), settings).await?;
    spawn_bundle_renewal(pool.clone(), parts.state.publisher.clone());
    let (stop_alerts, stopped) = tokio::sync::watch::channel(false);
    let alerts = spawn_alerts(
        pool,
        settings.alert_config()?,
        std::time::Duration::from_secs(settings.alert_interval_seconds),
        chrono::Duration::minutes(settings.stale_after_minutes),
        stopped,
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let served = match settings.tls_files() {
        Some(files) => {
            tracing::info!(address = %settings.listen, "Trustwatch is serving on https://{}", settings.listen);
            crate::tls::serve_tls(listener, parts.router, &files).await
        }
        None => {
            tracing::info!(address = %settings.listen, "Trustwatch is serving on http://{}", settings.listen);
            crate::serve(listener, parts.router).await
        }
    };
    // The alert task finishes the round it is in (stored alerts stay queued for the next start).
    let _ = stop_alerts.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(15), alerts)
        .await
        .is_err()
    {
        tracing::warn!("the alert task did not stop in time");
    }
    // Admission verdicts still queued are stored before the process ends, if the database lets.
    if tokio::time::timeout(std::time::Duration::from_secs(10), parts.recorder.flush())
        .await
        .is_err()
    {
        tracing::warn!("admission verdicts still queued at shutdown were not all stored");
    }
    served
}

/// Every ten minutes: partitions for the coming months, retention of raw events, the rollups and
/// time to deploy brought up to date. Failures are logged and retried at the next run; they
/// never stop the server.
fn spawn_maintenance(pool: sqlx::PgPool, retention_days: i64) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            let retention = chrono::Duration::days(retention_days);
            if let Err(e) = service::maintenance::run(&pool, chrono::Utc::now(), retention).await {
                tracing::error!(error = %e, "event store maintenance failed; retrying in ten minutes");
            }
        }
    });
}

/// Every five minutes: renews the trust bundle once half its validity has passed, so verifiers
/// never hold an expired one while the server is up, even when nothing changes for weeks.
fn spawn_bundle_renewal(pool: sqlx::PgPool, publisher: service::trust_bundle::Publisher) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            every.tick().await;
            match service::trust_bundle::ensure_current(&pool, &publisher, chrono::Utc::now()).await
            {
                Ok(Some(published)) => {
                    tracing::info!(version = published.version, "renewed the trust bundle")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "renewing the trust bundle failed; retrying in five minutes")
                }
            }
        }
    });
}

/// Every `interval`: evaluates the alert rules, sends due alerts to the webhooks, and completes
/// the incident steps that complete themselves (propagation, once every cluster that reported
/// within `active_within` has the containing bundle). Failures are logged and retried next
/// round; they never stop the server. Ends when `stop` turns true.
fn spawn_alerts(
    pool: sqlx::PgPool,
    config: service::alerts::AlertConfig,
    interval: std::time::Duration,
    active_within: chrono::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let actor = service::Actor {
        label: "server".into(),
        source_ip: None,
    };
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(e) =
                service::alerts::evaluate_now(&pool, &actor, &config, chrono::Utc::now()).await
            {
                tracing::error!(error = %e, "evaluating the alert rules failed; retrying next round");
            }
            if let Err(e) =
                service::incidents::advance_automatic(&pool, active_within, chrono::Utc::now())
                    .await
            {
                tracing::error!(error = %e, "advancing incidents failed; retrying next round");
            }
            if !config.webhooks.targets.is_empty() {
                if let Err(e) = service::alerts::deliver_due(
                    &pool,
                    &client,
                    &config.webhooks,
                    chrono::Utc::now(),
                )
                .await
                {
                    tracing::error!(error = %e, "sending alerts failed; retrying next round");
                }
                if let Err(e) = service::incidents::notify::deliver_due(
                    &pool,
                    &client,
                    &config.webhooks,
                    chrono::Utc::now(),
                )
                .await
                {
                    tracing::error!(error = %e, "sending incident notifications failed; retrying next round");
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}
