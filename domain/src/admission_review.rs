//! Kubernetes `admission.k8s.io/v1` `AdmissionReview`s: the question a validating webhook is
//! asked, the images it is asked about, and the answer it gives.
//!
//! The API server sends a review for every create or update its webhook configuration selects.
//! Only workloads carry images: a Pod's own spec, and the pod template of Deployments,
//! StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs (`spec.template`) and
//! CronJobs (`spec.jobTemplate.spec.template`). Every container list counts — `containers`,
//! `initContainers` and `ephemeralContainers` — since each runs code from its image. Any other
//! object (a `Scale`, a `ConfigMap`, a `DELETE` with no object) carries no pod spec and is
//! answered "allowed" without a look at it.
//!
//! The answer has limits the API server enforces or applies, and [`ReviewResponse`] keeps to
//! them so nothing is lost on the way to the developer:
//!
//! - `warnings`: "limit warnings to 120 characters if possible"; one longer than 256 characters
//!   may be truncated by the API server, and once 4096 characters of warnings have been added
//!   (from every source) further ones are dropped. Warnings here are cut at 256 characters and
//!   at 4096 in all, ending with a note of how many were left out. They travel in HTTP `Warning`
//!   headers, so control characters become spaces.
//! - `auditAnnotations`: the API server prefixes each key with the webhook's name
//!   (`images.trustwatch.dev/decision`) and drops a key that is then not a qualified name with
//!   exactly one `/`. Keys here are therefore bare names (`decision`), checked to be 1 to 63
//!   characters of `[A-Za-z0-9-_.]`, starting and ending with an alphanumeric.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::image::ImageReference;
use crate::ParseError;

/// The only `apiVersion` spoken (`admissionReviewVersions: [v1]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// Kubernetes' advice for one warning's length.
pub const WARNING_ADVISED_CHARS: usize = 120;
/// Longer warnings may be truncated by the API server.
pub const WARNING_MAX_CHARS: usize = 256;
/// Warnings past this many characters in all are ignored by the API server.
pub const WARNINGS_TOTAL_CHARS: usize = 4096;
/// An audit annotation key's longest form (the name part of a qualified name).
pub const ANNOTATION_KEY_MAX_CHARS: usize = 63;

/// Why a review could not be read. The message names the field and is meant for the operator
/// who wired the webhook (it comes back as a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReviewError(pub String);

impl ReviewError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// `request.operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn parse(s: &str) -> Result<Self, ReviewError> {
        match s {
            "CREATE" => Ok(Self::Create),
            "UPDATE" => Ok(Self::Update),
            "DELETE" => Ok(Self::Delete),
            "CONNECT" => Ok(Self::Connect),
            other => Err(ReviewError::new(format!(
                "request.operation {other:?} is not one of CREATE, UPDATE, DELETE, CONNECT"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `request.kind`: the group, version and kind of the object under review.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.kind)
        } else {
            write!(f, "{}/{}/{}", self.group, self.version, self.kind)
        }
    }
}

/// Which container list of a pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerList {
    Containers,
    InitContainers,
    EphemeralContainers,
}

impl ContainerList {
    pub fn field(self) -> &'static str {
        match self {
            Self::Containers => "containers",
            Self::InitContainers => "initContainers",
            Self::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// One container of the object, where it sits, and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    path: String,
    list: ContainerList,
    name: String,
    image: String,
    reference: Result<ImageReference, ParseError>,
}

impl ContainerImage {
    /// The container's path in the object, e.g. `spec.template.spec.initContainers[0]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn list(&self) -> ContainerList {
        self.list
    }

    /// The container's `name` (empty if the object has none, which the API server refuses
    /// before a validating webhook sees it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `image` field exactly as written.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The image as a reference, or why it is not one this verifier can check.
    pub fn reference(&self) -> Result<&ImageReference, &ParseError> {
        self.reference.as_ref()
    }
}

/// The kinds whose objects carry a pod spec, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
}

impl WorkloadKind {
    /// The workload kind of `gvk`, or `None` for objects without a pod spec.
    pub fn of(gvk: &GroupVersionKind) -> Option<Self> {
        match (gvk.group.as_str(), gvk.kind.as_str()) {
            ("", "Pod") => Some(Self::Pod),
            ("", "ReplicationController") => Some(Self::ReplicationController),
            ("apps" | "extensions", "Deployment") => Some(Self::Deployment),
            ("apps", "StatefulSet") => Some(Self::StatefulSet),
            ("apps" | "extensions", "DaemonSet") => Some(Self::DaemonSet),
            ("apps" | "extensions", "ReplicaSet") => Some(Self::ReplicaSet),
            ("batch", "Job") => Some(Self::Job),
            ("batch", "CronJob") => Some(Self::CronJob),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pod => "Pod",
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::ReplicationController => "ReplicationController",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }

    /// Where the pod spec sits in the object.
    pub fn pod_spec_path(self) -> &'static str {
        match self {
            Self::Pod => "spec",
            Self::CronJob => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pod spec of a workload: its kind and every container with its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpecImages {
    kind: WorkloadKind,
    containers: Vec<ContainerImage>,
}

impl PodSpecImages {
    pub fn kind(&self) -> WorkloadKind {
        self.kind
    }

    /// Every container, in the order containers, initContainers, ephemeralContainers.
    pub fn containers(&self) -> &[ContainerImage] {
        &self.containers
    }

    /// The distinct images the object runs, each with the containers that run it, in order of
    /// first appearance. Two spellings of one image (`nginx` and `docker.io/library/nginx`)
    /// are one image. Containers whose image is not a reference are left out: see
    /// [`Self::unparsable`].
    pub fn distinct_images(&self) -> Vec<(&ImageReference, Vec<&ContainerImage>)> {
        let all: Vec<&ContainerImage> = self.containers.iter().collect();
        Self::group_by_image(&all)
    }

    /// [`Self::distinct_images`] of some of the containers.
    pub fn group_by_image<'a>(
        containers: &[&'a ContainerImage],
    ) -> Vec<(&'a ImageReference, Vec<&'a ContainerImage>)> {
        let mut images: Vec<(&ImageReference, Vec<&ContainerImage>)> = Vec::new();
        for &c in containers {
            let Ok(reference) = c.reference() else {
                continue;
            };
            match images.iter_mut().find(|(r, _)| *r == reference) {
                Some((_, users)) => users.push(c),
                None => images.push((reference, vec![c])),
            }
        }
        images
    }

    /// Containers whose `image` is not an image reference.
    pub fn unparsable(&self) -> impl Iterator<Item = (&ContainerImage, &ParseError)> {
        self.containers
            .iter()
            .filter_map(|c| c.reference().err().map(|e| (c, e)))
    }
}

/// An admission review's request, validated, with the images of its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequest {
    uid: String,
    kind: GroupVersionKind,
    sub_resource: Option<String>,
    namespace: String,
    name: String,
    operation: Operation,
    dry_run: bool,
    pod_spec: Option<PodSpecImages>,
    old_pod_spec: Option<PodSpecImages>,
}

impl ReviewRequest {
    /// Parses an `AdmissionReview` body. Fails on anything that is not a `v1` review with a
    /// request the API server would send: the message says which field is wrong.
    pub fn parse(body: &[u8]) -> Result<Self, ReviewError> {
        let review: WireReview = serde_json::from_slice(body)
            .map_err(|e| ReviewError::new(format!("the body is not an AdmissionReview: {e}")))?;
        match review.api_version.as_deref() {
            Some(API_VERSION) => {}
            Some(other) => {
                return Err(ReviewError::new(format!(
                    "apiVersion is {other:?}; this webhook speaks only {API_VERSION} \
                     (set admissionReviewVersions: [v1] in the webhook configuration)"
                )))
            }
            None => return Err(ReviewError::new("apiVersion is missing")),
        }
        match review.kind.as_deref() {
            Some(KIND) => {}
            Some(other) => return Err(ReviewError::new(format!("kind is {other:?}, not {KIND}"))),
            None => return Err(ReviewError::new("kind is missing")),
        }
        let request = review.request.ok_or_else(|| {
            ReviewError::new("request is missing: this is not a review to answer")
        })?;
        let uid = request
            .uid
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ReviewError::new("request.uid is missing"))?;
        if uid.len() > 256 || uid.chars().any(char::is_control) {
            return Err(ReviewError::new("request.uid is not a UID"));
        }
        let kind = request
            .kind
            .filter(|k| !k.kind.is_empty())
            .ok_or_else(|| ReviewError::new("request.kind is missing"))?;
        let operation = Operation::parse(
            request
                .operation
                .as_deref()
                .ok_or_else(|| ReviewError::new("request.operation is missing"))?,
        )?;

        let workload = WorkloadKind::of(&kind);
        let (metadata, pod_spec) = match (workload, request.object) {
            (Some(w), Some(object)) => {
                let (metadata, containers) = read_workload(w, object.get())?;
                (
                    metadata,
                    Some(PodSpecImages {
                        kind: w,
                        containers,
                    }),
                )
            }
            (None, Some(object)) => {
                // Only the name is of interest; a body we do not understand is not our concern.
                let meta = serde_json::from_str::<WithMetadata>(object.get())
                    .map(|o| o.metadata)
                    .unwrap_or_default();
                (meta, None)
            }
            (_, None) => (Metadata::default(), None),
        };

        // The object as it was, for an update: what it already ran was judged when it was made. A
        // malformed old object only means nothing is known to be unchanged.
        let old_pod_spec = match (workload, request.old_object) {
            (Some(w), Some(old)) if operation == Operation::Update => read_workload(w, old.get())
                .ok()
                .map(|(_, containers)| PodSpecImages {
                    kind: w,
                    containers,
                }),
            _ => None,
        };

        let namespace = request
            .namespace
            .filter(|n| !n.is_empty())
            .or(metadata.namespace)
            .unwrap_or_default();
        // Pods made by controllers arrive with a generateName and no name yet.
        let name = request
            .name
            .filter(|n| !n.is_empty())
            .or(metadata.name.filter(|n| !n.is_empty()))
            .or(metadata.generate_name.filter(|n| !n.is_empty()))
            .unwrap_or_default();
        Ok(Self {
            uid,
            kind,
            sub_resource: request.sub_resource.filter(|s| !s.is_empty()),
            namespace,
            name,
            operation,
            dry_run: request.dry_run.unwrap_or(false),
            pod_spec,
            old_pod_spec,
        })
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn kind(&self) -> &GroupVersionKind {
        &self.kind
    }

    pub fn sub_resource(&self) -> Option<&str> {
        self.sub_resource.as_deref()
    }

    /// Empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The object's name; for a Pod that a controller creates, its `generateName` prefix.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The object's pod spec, or `None` when the object carries none (any other kind, or no
    /// object at all): such a review is allowed untouched.
    pub fn pod_spec(&self) -> Option<&PodSpecImages> {
        self.pod_spec.as_ref()
    }

    /// For an update, the pod spec of the object as it was (`oldObject`).
    pub fn old_pod_spec(&self) -> Option<&PodSpecImages> {
        self.old_pod_spec.as_ref()
    }

    /// The containers whose image is to be judged: every one, except that an update judges only
    /// images the object did not already run. An update that leaves the images alone (a label,
    /// a finalizer removed, a Deployment scaled) is not judged again: its images were judged
    /// when they were introduced, and the pods a controller makes from it are judged when they
    /// are created. Refusing such updates after a revocation would leave pods unable to shed
    /// their finalizers.
    pub fn containers_to_judge(&self) -> Vec<&ContainerImage> {
        let Some(spec) = &self.pod_spec else {
            return Vec::new();
        };
        let before: Vec<&str> = self
            .old_pod_spec
            .iter()
            .flat_map(|old| old.containers.iter().map(|c| c.image.as_str()))
            .collect();
        spec.containers
            .iter()
            .filter(|c| !before.contains(&c.image.as_str()))
            .collect()
    }
}

#[derive(Deserialize)]
struct WireReview<'a> {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(borrow)]
    request: Option<WireRequest<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    uid: Option<String>,
    kind: Option<GroupVersionKind>,
    sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    operation: Option<String>,
    dry_run: Option<bool>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    #[serde(borrow)]
    old_object: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: Option<String>,
    generate_name: Option<String>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct WithMetadata {
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePodSpec {
    #[serde(default)]
    containers: Option<Vec<WireContainer>>,
    #[serde(default)]
    init_containers: Option<Vec<WireContainer>>,
    #[serde(default)]
    ephemeral_containers: Option<Vec<WireContainer>>,
}

#[derive(Deserialize)]
struct WireContainer {
    name: Option<String>,
    image: Option<String>,
}

#[derive(Deserialize)]
struct WirePod {
    #[serde(default)]
    metadata: Metadata,
    spec: Option<WirePodSpec>,
}

#[derive(Deserialize)]
struct WireTemplate {
    spec: Option<WirePodSpec>,
}

#[derive(Deserialize)]
struct WireTemplated {
    template: Option<WireTemplate>,
}

/// Deployments and the other controllers: `spec.template.spec`.
#[derive(Deserialize)]
struct WireController {
    #[serde(default)]
    metadata: Metadata,
    spec: Option<WireTemplated>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCronJobSpec {
    job_template: Option<WireController>,
}

#[derive(Deserialize)]
struct WireCronJob {
    #[serde(default)]
    metadata: Metadata,
    spec: Option<WireCronJobSpec>,
}

/// The object's metadata and its containers, for a kind that carries a pod spec.
fn read_workload(
    kind: WorkloadKind,
    object: &str,
) -> Result<(Metadata, Vec<ContainerImage>), ReviewError> {
    let bad = |e: serde_json::Error| {
        ReviewError::new(format!("request.object is not a valid {kind}: {e}"))
    };
    let missing = |what: &str| {
        ReviewError::new(format!(
            "request.object is a {kind} without {what}; its pod spec cannot be checked"
        ))
    };
    let (metadata, spec) = match kind {
        WorkloadKind::Pod => {
            let pod: WirePod = serde_json::from_str(object).map_err(bad)?;
            (pod.metadata, pod.spec.ok_or_else(|| missing("spec"))?)
        }
        WorkloadKind::CronJob => {
            let cron: WireCronJob = serde_json::from_str(object).map_err(bad)?;
            let spec = cron
                .spec
                .ok_or_else(|| missing("spec"))?
                .job_template
                .ok_or_else(|| missing("spec.jobTemplate"))?
                .spec
                .ok_or_else(|| missing("spec.jobTemplate.spec"))?
                .template
                .ok_or_else(|| missing("spec.jobTemplate.spec.template"))?
                .spec
                .ok_or_else(|| missing("spec.jobTemplate.spec.template.spec"))?;
            (cron.metadata, spec)
        }
        _ => {
            let controller: WireController = serde_json::from_str(object).map_err(bad)?;
            let spec = controller
                .spec
                .ok_or_else(|| missing("spec"))?
                .template
                .ok_or_else(|| missing("spec.template"))?
                .spec
                .ok_or_else(|| missing("spec.template.spec"))?;
            (controller.metadata, spec)
        }
    };
    let base = kind.pod_spec_path();
    let mut containers = Vec::new();
    for (list, items) in [
        (ContainerList::Containers, spec.containers),
        (ContainerList::InitContainers, spec.init_containers),
        (
            ContainerList::EphemeralContainers,
            spec.ephemeral_containers,
        ),
    ] {
        for (i, c) in items.unwrap_or_default().into_iter().enumerate() {
            let path = format!("{base}.{}[{i}]", list.field());
            let image = c
                .image
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ReviewError::new(format!("{path}.image is missing")))?;
            let reference = ImageReference::parse(&image);
            containers.push(ContainerImage {
                path,
                list,
                name: c.name.unwrap_or_default(),
                image,
                reference,
            });
        }
    }
    Ok((metadata, containers))
}

/// `response.status` of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewStatus {
    pub code: u16,
    pub message: String,
}

/// The webhook's answer to one review, kept within the API server's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewResponse {
    uid: String,
    allowed: bool,
    status: Option<ReviewStatus>,
    warnings: Vec<String>,
    warning_chars: usize,
    warnings_dropped: usize,
    audit_annotations: BTreeMap<String, String>,
}

impl ReviewResponse {
    /// Allows the request with this `uid`.
    pub fn allow(uid: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            allowed: true,
            status: None,
            warnings: Vec::new(),
            warning_chars: 0,
            warnings_dropped: 0,
            audit_annotations: BTreeMap::new(),
        }
    }

    /// Refuses the request with this `uid`; `message` is what `kubectl` prints after
    /// `admission webhook "…" denied the request:`. `code` is the HTTP status the client sees
    /// (403 for a policy refusal).
    pub fn refuse(uid: impl Into<String>, code: u16, message: impl Into<String>) -> Self {
        Self {
            allowed: false,
            status: Some(ReviewStatus {
                code,
                message: message.into(),
            }),
            ..Self::allow(uid)
        }
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn allowed(&self) -> bool {
        self.allowed
    }

    pub fn status(&self) -> Option<&ReviewStatus> {
        self.status.as_ref()
    }

    /// The warnings as they will be sent, the note about dropped ones included.
    pub fn warnings(&self) -> Vec<String> {
        let mut all = self.warnings.clone();
        if let Some(note) = self.dropped_note() {
            all.push(note);
        }
        all
    }

    pub fn audit_annotations(&self) -> &BTreeMap<String, String> {
        &self.audit_annotations
    }

    /// Adds a warning: control characters become spaces, a warning longer than
    /// [`WARNING_MAX_CHARS`] is cut (ending in `…`), a repeated one is dropped, and once
    /// [`WARNINGS_TOTAL_CHARS`] would be passed the rest are counted instead of sent.
    pub fn warn(&mut self, warning: &str) {
        let cleaned: String = warning
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let text = truncate_chars(cleaned.trim(), WARNING_MAX_CHARS);
        if text.is_empty() || self.warnings.contains(&text) {
            return;
        }
        let n = text.chars().count();
        // Room is kept for the note that says how many were dropped.
        if self.warnings_dropped > 0
            || self.warning_chars + n + DROPPED_NOTE_RESERVE > WARNINGS_TOTAL_CHARS
        {
            self.warnings_dropped += 1;
            return;
        }
        self.warning_chars += n;
        self.warnings.push(text);
    }

    fn dropped_note(&self) -> Option<String> {
        match self.warnings_dropped {
            0 => None,
            1 => Some("1 more warning was left out; Trustwatch has them all".to_owned()),
            n => Some(format!(
                "{n} more warnings were left out; Trustwatch has them all"
            )),
        }
    }

    /// Adds an audit annotation under a bare key (the API server prefixes the webhook's name).
    pub fn annotate(&mut self, key: &str, value: impl Into<String>) -> Result<(), ParseError> {
        if !is_annotation_key(key) {
            return Err(ParseError::new(format!(
                "{key:?} is not an audit annotation key: 1 to {ANNOTATION_KEY_MAX_CHARS} characters \
                 of letters, digits, '-', '_' and '.', beginning and ending with a letter or digit, \
                 no '/' (the API server adds the webhook's name as the prefix)"
            )));
        }
        self.audit_annotations.insert(key.to_owned(), value.into());
        Ok(())
    }

    /// The `AdmissionReview` to send back.
    pub fn to_json(&self) -> Value {
        let mut response = json!({
            "uid": self.uid,
            "allowed": self.allowed,
        });
        if let Some(status) = &self.status {
            response["status"] = json!({
                "code": status.code,
                "message": status.message,
            });
        }
        let warnings = self.warnings();
        if !warnings.is_empty() {
            response["warnings"] = json!(warnings);
        }
        if !self.audit_annotations.is_empty() {
            response["auditAnnotations"] = json!(self.audit_annotations);
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "response": response,
        })
    }
}

const DROPPED_NOTE_RESERVE: usize = 64;

/// `s` cut to at most `max` characters, ending in `…` when it was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

fn is_annotation_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= ANNOTATION_KEY_MAX_CHARS
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests;
