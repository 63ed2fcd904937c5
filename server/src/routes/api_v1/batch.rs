//! Reading a batch of events: size limits, JSON shape, and per-item validation with the item's
//! index, so a sender can find the bad one in a batch of thousands.

use axum::body::Body;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::problem::Problem;

/// The most events one request may carry.
pub const MAX_BATCH: usize = 5000;
/// The largest body accepted: room for a full batch of large events.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Items are kept as raw JSON slices and each parsed once, straight into its own type: no
/// intermediate tree, and a bad item is still known by its index.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    events: Vec<&'a serde_json::value::RawValue>,
}

/// Reads `{"events": [...]}` and turns each item into a `T` with `validate`, refusing the whole
/// batch at the first bad item.
pub async fn read<R, T>(
    body: Body,
    validate: impl Fn(R) -> Result<T, domain::wire::FieldError>,
) -> Result<Vec<T>, Problem>
where
    R: DeserializeOwned,
{
    let bytes = read_bytes(body).await?;
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::bad_request(format!(
            "the body is not a JSON object with an \"events\" list: {e}"
        ))
    })?;
    if envelope.events.len() > MAX_BATCH {
        return Err(Problem::too_large(format!(
            "a batch holds at most {MAX_BATCH} events; this one has {}",
            envelope.events.len()
        )));
    }
    envelope
        .events
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let raw: R = serde_json::from_str(v.get())
                .map_err(|e| Problem::invalid_item(i, "(item)", &e.to_string()))?;
            validate(raw).map_err(|f| Problem::item(i, &f))
        })
        .collect()
}

/// Reads the body, within the size limit.
async fn read_bytes(body: Body) -> Result<axum::body::Bytes, Problem> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Problem::too_large(format!(
                "the body is larger than {MAX_BODY_BYTES} bytes; send smaller batches"
            ))
        })
}

/// Reads a whole JSON document, within the body size limit.
pub async fn read_document(body: Body) -> Result<serde_json::Value, Problem> {
    let bytes = read_bytes(body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))
}

/// Validates events an adapter produced, refusing all at the first bad one.
pub fn validate_all(
    raws: &[domain::wire::RawVerificationEvent],
    now: chrono::DateTime<chrono::Utc>,
    bound_cluster: Option<&str>,
) -> Result<Vec<domain::VerificationEvent>, Problem> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| {
            raw.validate(now, bound_cluster)
                .map_err(|f| Problem::item(i, &f))
        })
        .collect()
}
