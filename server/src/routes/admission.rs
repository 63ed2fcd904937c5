//! `POST /k8s/admission`: Trustwatch as a Kubernetes validating admission webhook
//! (`admission.k8s.io/v1` `AdmissionReview`).
//!
//! The API server authenticates with a bearer token (the `token` of the kubeconfig its
//! AdmissionConfiguration names for this webhook): an `ingest:verification` token bound to the
//! cluster, which is the cluster the verdicts are stored for. Every distinct image of the
//! object's pod spec is decided by [`service::verifier::Verifier`], concurrently and within
//! `admission_deadline_millis`; the object is refused when any image is refused (an
//! enforce-mode policy failed), with a message that names each refused image, the reason, what
//! to run to fix it and the link to the rejection's page. Warn-mode failures become warnings.
//! Each decision is stored as a verification event (not for dry runs) by the
//! [`DecisionRecorder`], which does not hold up the answer.
//!
//! An object without a pod spec is allowed untouched, and so is an update that introduces no
//! image the object did not already run (see `ReviewRequest::containers_to_judge`).

mod answer;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use domain::admission_review::{PodSpecImages, ReviewRequest, ReviewResponse};
use domain::{AdmissionRequest, TokenScope};
use service::tokens::TokenPrincipal;
use service::verifier::{
    BundleCache, DecisionRecorder, FailurePolicy, RecorderConfig, Verifier, VerifierConfig,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::api_v1::problem::Problem;
use crate::Settings;
use answer::{Judged, Links};
pub use tokens::TokenCache;

/// The largest review read. Objects are at most 1.5 MiB in etcd; a review carries the object
/// and, for an update, the old one.
const MAX_REVIEW_BYTES: usize = 4 * 1024 * 1024;

/// How long an authenticated token is remembered: a revoked token is refused this soon.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

/// Everything the webhook needs. Cheap to clone.
#[derive(Clone)]
pub struct AdmissionState {
    pub pool: PgPool,
    pub verifier: Verifier,
    pub recorder: DecisionRecorder,
    pub bundles: Arc<BundleCache>,
    pub tokens: Arc<TokenCache>,
    pub public_url: Option<String>,
    pub deadline: Duration,
    pub failure_policy: FailurePolicy,
}

impl AdmissionState {
    /// The webhook as `settings` configure it; starts the recorder's writer task.
    pub fn from_settings(pool: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        let deadline = Duration::from_millis(settings.admission_deadline_millis);
        let registry = service::registry::RegistryClient::new(settings.registry_config()?)?;
        let verifier = Verifier::new(
            registry,
            VerifierConfig {
                failure_policy: settings.admission_failure_policy,
                // The registry gets what is left once the answer has been written.
                registry_budget: deadline
                    .saturating_sub(Duration::from_millis(300))
                    .max(deadline / 2),
                ..VerifierConfig::default()
            },
        );
        Ok(Self {
            recorder: DecisionRecorder::spawn(pool.clone(), RecorderConfig::default()),
            bundles: Arc::new(BundleCache::new(Duration::from_millis(
                settings.admission_bundle_refresh_millis,
            ))),
            tokens: Arc::new(TokenCache::new(TOKEN_CACHE_TTL)),
            public_url: settings.public_url().map(str::to_owned),
            failure_policy: settings.admission_failure_policy,
            pool,
            verifier,
            deadline,
        })
    }
}

pub fn router(state: AdmissionState) -> Router {
    Router::new()
        .route("/k8s/admission", post(timed_review))
        .with_state(state)
}

/// The token, which must be an `ingest:verification` token bound to a cluster.
async fn authenticate(
    state: &AdmissionState,
    headers: &HeaderMap,
) -> Result<TokenPrincipal, Problem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Problem::unauthorized(
                "send a token as Authorization: Bearer <token> (the kubeconfig of the API server's AdmissionConfiguration sets it)",
            )
        })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            Problem::unauthorized("the Authorization header must use the Bearer scheme")
        })?;
    let principal = state
        .tokens
        .authenticate(&state.pool, token)
        .await?
        .ok_or_else(|| Problem::unauthorized("the token is unknown or revoked"))?;
    if !principal.allows(TokenScope::IngestVerification) {
        return Err(Problem::forbidden(format!(
            "token {:?} lacks the {} scope the admission webhook needs",
            principal.name,
            TokenScope::IngestVerification
        )));
    }
    if principal.cluster.is_none() {
        return Err(Problem::forbidden(format!(
            "token {:?} is not bound to a cluster; the webhook's token names the cluster its verdicts are stored for (trustwatch token create --cluster NAME)",
            principal.name
        )));
    }
    Ok(principal)
}

/// [`review`], its handling time recorded for `/metrics` whatever the answer.
async fn timed_review(
    state: State<AdmissionState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let started = std::time::Instant::now();
    let answer = review(state, headers, body).await;
    crate::instruments::ADMISSION_REVIEW.observe(started.elapsed());
    answer
}

async fn review(
    State(state): State<AdmissionState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let cluster = principal.cluster.clone().unwrap_or_default();
    let bytes = axum::body::to_bytes(body, MAX_REVIEW_BYTES)
        .await
        .map_err(|_| {
            Problem::too_large(format!(
                "an AdmissionReview is at most {MAX_REVIEW_BYTES} bytes"
            ))
        })?;
    let review = ReviewRequest::parse(&bytes).map_err(|e| Problem::bad_request(e.0))?;
    let Some(spec) = review.pod_spec() else {
        return Ok(reply(&ReviewResponse::allow(review.uid())));
    };
    // An update judges only the images it introduces (`containers_to_judge`).
    let to_judge = review.containers_to_judge();
    let images = PodSpecImages::group_by_image(&to_judge);
    let unparsable: Vec<_> = to_judge
        .iter()
        .filter_map(|c| c.reference().err().map(|e| (*c, e)))
        .collect();
    if images.is_empty() && unparsable.is_empty() {
        return Ok(reply(&ReviewResponse::allow(review.uid())));
    }
    let links = Links::new(state.public_url.as_deref());
    let bundle = match state.bundles.get(&state.pool).await? {
        Some(b) => b,
        None => return Ok(reply(&answer::without_bundle(&review))),
    };

    let now = Utc::now();
    let decisions = futures::future::join_all(images.iter().map(|(image, _)| {
        state.verifier.decide(
            &state.pool,
            &bundle.bundle,
            AdmissionRequest {
                image: (*image).clone(),
                digest: None,
                cluster: cluster.clone(),
                namespace: review.namespace().to_owned(),
            },
            now,
        )
    }));
    let Ok(verdicts) = tokio::time::timeout(state.deadline, decisions).await else {
        tracing::warn!(
            uid = review.uid(),
            "an admission review ran past its deadline"
        );
        return Ok(reply(&answer::past_deadline(
            &review,
            state.deadline,
            state.failure_policy,
        )));
    };

    // A dry run changes nothing in the cluster, so nothing is recorded either.
    let judged: Vec<Judged> = images
        .into_iter()
        .zip(verdicts)
        .map(|((_, containers), verdict)| Judged {
            containers,
            verdict,
            event: (!review.dry_run()).then(Uuid::now_v7),
        })
        .collect();
    let response = answer::answer(&review, &judged, &unparsable, &links, bundle.version);

    let actor = service::Actor {
        label: format!("token:{}", principal.name),
        source_ip: None,
    };
    let kind = spec.kind().as_str();
    for j in judged {
        if let Some(id) = j.event {
            state.recorder.record_verdict(
                &actor,
                principal.may_register_clusters,
                j.verdict,
                id,
                kind,
                review.name(),
                now,
            );
        }
    }
    Ok(reply(&response))
}

fn reply(response: &ReviewResponse) -> Response {
    axum::Json(response.to_json()).into_response()
}
