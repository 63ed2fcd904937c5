//! Publishing and reading the signed trust bundle.
//!
//! A bundle is built from the keys, key groups and policies in the database, signed with the
//! server's Ed25519 bundle key, and stored as the next version in `trust_bundles`. Every change
//! to keys, key groups or policies calls [`publish`] inside its own transaction, so a version
//! exists exactly when the change it reflects does, and the newest version always describes the
//! committed state. Versions are never changed or deleted.
//!
//! Readers (the `GET /api/v1/trust-bundle` route, the admission webhook, `trustwatch bundle
//! export`) call [`current`], or [`current_signed`] when they only pass the envelope on.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use domain::{
    BundleSigningKey, DefaultAction, KeyGroup, KeyStatus, Policy, PublicKey, SignedTrustBundle,
    TrustBundle, TrustBundleContents, TrustedKey, TrustedKeyRecord,
};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::{audit, Actor, ServiceError};

/// Serializes publishing so versions never collide and each one is built after the previous
/// one's changes are committed. Held until the publishing transaction ends.
const PUBLISH_LOCK: i64 = 0x7477_6275_6e64_6c65; // "twbundle"

/// What every publication needs: the bundle key, how long a bundle stays valid, and the action
/// for images no policy covers. Cheap to clone; held in the server's state.
#[derive(Clone)]
pub struct Publisher {
    key: Arc<BundleSigningKey>,
    validity: TimeDelta,
    default_action: DefaultAction,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("key", &self.key)
            .field("validity", &self.validity)
            .field("default_action", &self.default_action)
            .finish()
    }
}

impl Publisher {
    pub fn new(key: BundleSigningKey, validity: TimeDelta, default_action: DefaultAction) -> Self {
        Self {
            key: Arc::new(key),
            validity,
            default_action,
        }
    }

    /// The public half of the bundle key, which verifiers trust.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn validity(&self) -> TimeDelta {
        self.validity
    }

    pub fn default_action(&self) -> DefaultAction {
        self.default_action
    }
}

/// A published version as readers use it.
///
/// This is the interface of the admission webhook and of `trustwatch bundle export`; keep its
/// fields stable.
#[derive(Debug, Clone)]
pub struct PublishedBundle {
    pub version: u64,
    /// The HTTP entity tag, quoted: `"<version>-<first 16 hex digits of the SHA-256 of the
    /// canonical bundle>"`.
    pub etag: String,
    /// The signed envelope (`domain::SignedTrustBundle`) as JSON bytes, exactly as served.
    pub signed: Vec<u8>,
    /// The bundle, parsed and checked for consistency.
    pub bundle: TrustBundle,
}

/// The envelope of the newest version without parsing the bundle: what the HTTP route serves.
#[derive(Debug, Clone)]
pub struct SignedBytes {
    pub version: u64,
    pub etag: String,
    pub signed: Vec<u8>,
}

/// Version, entity tag and expiry of the newest bundle: enough to answer `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHead {
    pub version: u64,
    pub etag: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub key_fingerprint: String,
    pub default_action: String,
}

fn etag(version: i64, digest: &str) -> String {
    format!("\"{version}-{}\"", &digest[..16.min(digest.len())])
}

/// The envelope, written from the stored canonical text so the signed bytes are served as they
/// were signed.
fn envelope(document: &str, signature: &str, key_fingerprint: &str) -> Vec<u8> {
    format!(
        "{{\"bundle\":{document},\"key_fingerprint\":{},\"signature\":{}}}",
        serde_json::Value::from(key_fingerprint),
        serde_json::Value::from(signature)
    )
    .into_bytes()
}

fn version_u64(v: i64) -> Result<u64, ServiceError> {
    u64::try_from(v).map_err(|_| ServiceError::Internal(format!("bundle version {v} is negative")))
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    name: String,
    fingerprint: String,
    algorithm: String,
    public_key_pem: String,
    owner_team: String,
    status: String,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    compromised_since: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn corrupt(what: String) -> ServiceError {
    ServiceError::Internal(format!("stored trust data is inconsistent: {what}"))
}

/// Every key, as the bundle carries it (revoked and compromised ones included: they are how a
/// verifier learns to distrust them).
pub(crate) async fn load_keys(conn: &mut PgConnection) -> Result<Vec<TrustedKey>, ServiceError> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT name, fingerprint, algorithm, public_key_pem, owner_team, status, valid_from,
                valid_until, compromised_since, revoked_at
           FROM keys ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let record = TrustedKeyRecord {
                fingerprint: domain::KeyFingerprint::parse(&r.fingerprint)
                    .map_err(|e| corrupt(format!("key {}: {e}", r.name)))?,
                algorithm: domain::KeyAlgorithm::parse(&r.algorithm)
                    .map_err(|e| corrupt(format!("key {}: {e}", r.name)))?,
                status: KeyStatus::parse(&r.status)
                    .map_err(|e| corrupt(format!("key {}: {e}", r.name)))?,
                name: r.name,
                public_key_pem: r.public_key_pem,
                owner_team: r.owner_team,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                compromised_since: r.compromised_since,
                revoked_at: r.revoked_at,
            };
            TrustedKey::from_record(&record)
                .map_err(|e| corrupt(format!("key {}: {e}", record.name)))
        })
        .collect()
}

/// Every key group with its members in their written order.
pub(crate) async fn load_key_groups(
    conn: &mut PgConnection,
) -> Result<Vec<KeyGroup>, ServiceError> {
    let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT g.name,
                COALESCE(array_agg(k.name ORDER BY m.position, k.name)
                         FILTER (WHERE k.name IS NOT NULL), '{}')
           FROM key_groups g
           LEFT JOIN key_group_members m ON m.group_id = g.id
           LEFT JOIN keys k ON k.id = m.key_id
          GROUP BY g.name ORDER BY g.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(name, keys)| {
            KeyGroup::new(&name, keys).map_err(|e| corrupt(format!("key group {name}: {e}")))
        })
        .collect()
}

/// Every policy, by name.
pub(crate) async fn load_policies(conn: &mut PgConnection) -> Result<Vec<Policy>, ServiceError> {
    let rows: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT name, document FROM policies ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(name, document)| {
            let doc: domain::policy::PolicyDocument = serde_json::from_value(document)
                .map_err(|e| corrupt(format!("policy {name}: {e}")))?;
            Policy::from_document(&doc).map_err(|e| corrupt(format!("policy {name}: {e}")))
        })
        .collect()
}

/// Builds a bundle from the database as `conn` sees it (inside a transaction: with its changes).
pub async fn build(
    conn: &mut PgConnection,
    version: u64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    default_action: DefaultAction,
) -> Result<TrustBundle, ServiceError> {
    let keys = load_keys(conn).await?;
    let key_groups = load_key_groups(conn).await?;
    let policies = load_policies(conn).await?;
    TrustBundle::new(TrustBundleContents {
        version,
        issued_at,
        expires_at,
        keys,
        key_groups,
        policies,
        default_action,
    })
    .map_err(|e| {
        ServiceError::Invalid(format!(
            "the change would leave the trust data inconsistent, so it was not made: {e}"
        ))
    })
}

/// Signs and stores the next version, built from what `conn` sees. Call it inside the
/// transaction of every change to keys, key groups or policies, after the change; `reason` says
/// what changed, for the audit log and the `trust_bundles` row.
pub async fn publish(
    conn: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    reason: &str,
) -> Result<PublishedBundle, ServiceError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PUBLISH_LOCK)
        .execute(&mut *conn)
        .await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&mut *conn)
        .await?;
    let version = last.unwrap_or(0) + 1;
    // Whole seconds: the columns keep microseconds, the document keeps what it says.
    let issued_at = Utc::now().trunc_subsecs(0);
    let expires_at = issued_at + publisher.validity;
    let bundle = build(
        conn,
        version_u64(version)?,
        issued_at,
        expires_at,
        publisher.default_action,
    )
    .await?;
    let signed = publisher
        .key
        .sign(&bundle)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let document = String::from_utf8(
        bundle
            .canonical_bytes()
            .map_err(|e| ServiceError::Internal(e.to_string()))?,
    )
    .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let digest = hex::encode(Sha256::digest(document.as_bytes()));
    let fingerprint = signed.key_fingerprint.as_str().to_owned();
    sqlx::query(
        "INSERT INTO trust_bundles (version, issued_at, expires_at, document, digest, signature,
                                    key_fingerprint, default_action, published_by, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(version)
    .bind(issued_at)
    .bind(expires_at)
    .bind(&document)
    .bind(&digest)
    .bind(&signed.signature)
    .bind(&fingerprint)
    .bind(publisher.default_action.as_str())
    .bind(&actor.label)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        actor,
        "trust_bundle.published",
        &format!("trust_bundle:{version}"),
        json!({
            "version": version,
            "reason": reason,
            "digest": digest,
            "key_fingerprint": fingerprint,
            "expires_at": expires_at,
            "keys": bundle.keys().len(),
            "key_groups": bundle.key_groups().len(),
            "policies": bundle.policies().len(),
            "default_action": publisher.default_action.as_str(),
        }),
    )
    .await?;
    Ok(PublishedBundle {
        version: version_u64(version)?,
        etag: etag(version, &digest),
        signed: envelope(&document, &signed.signature, &fingerprint),
        bundle,
    })
}

/// The newest version's head, or `None` before the first publication.
pub async fn head<'c>(db: impl PgExecutor<'c>) -> Result<Option<BundleHead>, ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        version: i64,
        digest: String,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        key_fingerprint: String,
        default_action: String,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT version, digest, issued_at, expires_at, key_fingerprint, default_action
           FROM trust_bundles ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(BundleHead {
            version: version_u64(r.version)?,
            etag: etag(r.version, &r.digest),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            key_fingerprint: r.key_fingerprint,
            default_action: r.default_action,
        })
    })
    .transpose()
}

/// The newest version's signed envelope as served, without parsing the bundle.
pub async fn current_signed<'c>(
    db: impl PgExecutor<'c>,
) -> Result<Option<SignedBytes>, ServiceError> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT version, digest, document, signature, key_fingerprint
           FROM trust_bundles ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    row.map(|(version, digest, document, signature, fingerprint)| {
        Ok(SignedBytes {
            version: version_u64(version)?,
            etag: etag(version, &digest),
            signed: envelope(&document, &signature, &fingerprint),
        })
    })
    .transpose()
}

/// The newest published bundle, or `None` before the first publication (the server publishes
/// version 1 at start-up, so readers of a running server always find one).
///
/// Stable interface for the admission webhook: `current(pool) -> Option<PublishedBundle>`.
/// Callers that evaluate many admissions should keep the result and call [`head`] to see
/// whether the version changed.
pub async fn current(pool: &PgPool) -> Result<Option<PublishedBundle>, ServiceError> {
    let Some(signed) = current_signed(pool).await? else {
        return Ok(None);
    };
    let envelope: SignedTrustBundle = serde_json::from_slice(&signed.signed)
        .map_err(|e| corrupt(format!("bundle version {}: {e}", signed.version)))?;
    let bundle: TrustBundle = serde_json::from_value(envelope.bundle)
        .map_err(|e| corrupt(format!("bundle version {}: {e}", signed.version)))?;
    Ok(Some(PublishedBundle {
        version: signed.version,
        etag: signed.etag,
        signed: signed.signed,
        bundle,
    }))
}

/// Why [`ensure_current`] published.
fn republish_reason(
    head: Option<&BundleHead>,
    publisher: &Publisher,
    now: DateTime<Utc>,
) -> Option<String> {
    let Some(head) = head else {
        return Some("first publication".into());
    };
    let fingerprint = publisher.public_key().fingerprint().as_str().to_owned();
    if head.key_fingerprint != fingerprint {
        return Some(format!(
            "the bundle key changed from {} to {fingerprint}",
            head.key_fingerprint
        ));
    }
    if head.default_action != publisher.default_action.as_str() {
        return Some(format!(
            "the default action changed from {} to {}",
            head.default_action,
            publisher.default_action.as_str()
        ));
    }
    // Renewed once half its validity is used up, so a verifier that fetches now and then never
    // holds an expired bundle while the server is up.
    let lifetime = head.expires_at - head.issued_at;
    let refresh_at = head.issued_at + lifetime.min(publisher.validity) / 2;
    if now >= refresh_at {
        return Some(format!(
            "renewal before expiry (version {} expires at {})",
            head.version, head.expires_at
        ));
    }
    None
}

/// Publishes when there is no bundle yet, when the newest one was signed by another key or with
/// another default action than the ones configured, or when half of its validity has passed.
/// Called at start-up and then periodically; several replicas may call it at once (publishing
/// is serialized and the check repeated under the lock).
pub async fn ensure_current(
    pool: &PgPool,
    publisher: &Publisher,
    now: DateTime<Utc>,
) -> Result<Option<PublishedBundle>, ServiceError> {
    if republish_reason(head(pool).await?.as_ref(), publisher, now).is_none() {
        return Ok(None);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PUBLISH_LOCK)
        .execute(&mut *tx)
        .await?;
    let Some(reason) = republish_reason(head(&mut *tx).await?.as_ref(), publisher, now) else {
        return Ok(None);
    };
    let actor = Actor {
        label: "server".into(),
        source_ip: None,
    };
    let published = publish(&mut tx, &actor, publisher, &reason).await?;
    tx.commit().await?;
    Ok(Some(published))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(seed: u8, action: DefaultAction) -> Publisher {
        Publisher::new(
            BundleSigningKey::from_seed(&[seed; 32]).unwrap(),
            TimeDelta::hours(10),
            action,
        )
    }

    fn head(issued_at: DateTime<Utc>, p: &Publisher) -> BundleHead {
        BundleHead {
            version: 3,
            etag: "\"3-00\"".into(),
            issued_at,
            expires_at: issued_at + TimeDelta::hours(10),
            key_fingerprint: p.public_key().fingerprint().as_str().to_owned(),
            default_action: p.default_action().as_str().to_owned(),
        }
    }

    #[test]
    fn republishes_only_when_something_is_off() {
        let p = publisher(1, DefaultAction::Deny);
        let t0 = Utc::now();
        assert!(republish_reason(None, &p, t0).is_some());
        let h = head(t0, &p);
        assert_eq!(republish_reason(Some(&h), &p, t0), None);
        assert_eq!(
            republish_reason(Some(&h), &p, t0 + TimeDelta::hours(4)),
            None
        );
        assert!(republish_reason(Some(&h), &p, t0 + TimeDelta::hours(5))
            .unwrap()
            .contains("renewal"));
        let other_key = publisher(2, DefaultAction::Deny);
        assert!(republish_reason(Some(&h), &other_key, t0)
            .unwrap()
            .contains("bundle key changed"));
        let other_action = publisher(1, DefaultAction::Warn);
        assert!(republish_reason(Some(&h), &other_action, t0)
            .unwrap()
            .contains("default action"));
        // A shorter configured validity renews an older, longer-lived bundle sooner.
        let short = Publisher::new(
            BundleSigningKey::from_seed(&[1; 32]).unwrap(),
            TimeDelta::hours(2),
            DefaultAction::Deny,
        );
        assert!(republish_reason(Some(&h), &short, t0 + TimeDelta::hours(1)).is_some());
    }

    #[test]
    fn etags_are_quoted_version_and_digest() {
        assert_eq!(
            etag(12, "0123456789abcdef0123456789abcdef"),
            "\"12-0123456789abcdef\""
        );
    }

    #[test]
    fn envelopes_parse_as_signed_bundles() {
        let bytes = envelope("{\"a\":1}", "c2ln", "sha256:00");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["bundle"]["a"], 1);
        assert_eq!(v["signature"], "c2ln");
    }
}
