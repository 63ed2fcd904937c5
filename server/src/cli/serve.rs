use anyhow::Context;

use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    spawn_maintenance(pool.clone(), settings.event_retention_days);
    let parts = crate::build_router(pool, settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(address = %settings.listen, "Trustwatch is serving on http://{}", settings.listen);
    crate::serve(listener, parts.router).await
}

/// Hourly: partitions for the coming months, and retention of raw events. Failures are logged
/// and retried next hour; they never stop the server.
fn spawn_maintenance(pool: sqlx::PgPool, retention_days: i64) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            let retention = chrono::Duration::days(retention_days);
            if let Err(e) = service::maintenance::run(&pool, chrono::Utc::now(), retention).await {
                tracing::error!(error = %e, "event store maintenance failed; retrying in an hour");
            }
        }
    });
}
