//! Connecting to PostgreSQL and keeping its schema current.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// The schema, embedded in the binary: `migrations/` at the workspace root.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

pub async fn connect(database_url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        // Fail fast when the database is away: callers answer 503 rather than hang.
        .acquire_timeout(Duration::from_secs(5))
        .connect(database_url)
        .await
}

/// Applies pending migrations and prepares the coming months' event partitions.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    sqlx::query("SELECT ensure_verification_event_partitions(1, 3)")
        .execute(pool)
        .await?;
    Ok(())
}
