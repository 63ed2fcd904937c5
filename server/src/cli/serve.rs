use anyhow::Context;

use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    let parts = crate::build_router(pool, settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(address = %settings.listen, "Trustwatch is serving on http://{}", settings.listen);
    crate::serve(listener, parts.router).await
}
