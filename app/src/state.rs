//! What the server hands to every page render and server function.

use service::login::Throttle;
use sqlx::PgPool;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub throttle: Throttle,
    /// A cluster whose last report is older than this is shown as stale.
    pub stale_after: chrono::Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Signs and stores a new trust-bundle version; every change to keys, key groups or
    /// policies passes it to the service, which publishes in the change's transaction.
    pub publisher: service::trust_bundle::Publisher,
    /// The playbooks read and validated at start-up; an incident copies the one it runs.
    pub playbooks: std::sync::Arc<domain::playbook::Catalog>,
    /// Where alerts and incident notifications go (URLs never shown or logged).
    pub webhooks: service::alerts::Webhooks,
}
