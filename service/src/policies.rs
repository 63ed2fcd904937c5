//! Policies as code: applying a file of `Policy` and `KeyGroup` documents (validated, diffed
//! against what is stored, audited, publishing a new trust-bundle version), and exporting them
//! back as one YAML file that applies unchanged.

mod diff;
pub mod impact;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use domain::policy::{parse_documents_indexed, to_yaml_documents};
use domain::{KeyGroup, Policy, PolicyItem, Problem, Problems};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::trust_bundle::{self, Publisher};
use crate::{audit, key_groups, keys, Actor, ServiceError};

pub use diff::unified as unified_diff;

/// Serializes applies, so two files applied at once cannot validate against each other's
/// half-written state.
const APPLY_LOCK: i64 = 0x7477_706f_6c69_6379; // "twpolicy"

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Validate and diff only; store nothing.
    pub dry_run: bool,
    /// Also delete the stored policies and key groups the file does not contain, so the file is
    /// the whole truth (as `kubectl apply --prune`).
    pub prune: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DocumentKind {
    Policy,
    KeyGroup,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Policy => "Policy",
            DocumentKind::KeyGroup => "KeyGroup",
        }
    }

    fn audit_name(self) -> &'static str {
        match self {
            DocumentKind::Policy => "policy",
            DocumentKind::KeyGroup => "key_group",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Changed,
    Unchanged,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Changed => "changed",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Deleted => "deleted",
        }
    }
}

/// What applying does (or, in a dry run, would do) to one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentChange {
    pub kind: DocumentKind,
    pub name: String,
    pub change: ChangeKind,
    /// Unified diff of the YAML, stored → applied; empty when unchanged.
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    pub dry_run: bool,
    /// Key groups first, then policies, each in file order; deletions last.
    pub changes: Vec<DocumentChange>,
    /// The trust-bundle version the change published; `None` for a dry run or when nothing
    /// changed.
    pub bundle_version: Option<u64>,
}

impl ApplyOutcome {
    pub fn changed(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.change != ChangeKind::Unchanged)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file was refused; nothing was stored. Each problem names its document
    /// (`documents[i]`) and field.
    #[error("{0}")]
    Invalid(Problems),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Service(e.into())
    }
}

/// A policy as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PolicySummary {
    pub name: String,
    pub mode: String,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool) -> Result<Vec<PolicySummary>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT name, mode, version, created_by, created_at, updated_by, updated_at
           FROM policies ORDER BY name",
    )
    .fetch_all(pool)
    .await?)
}

/// Every stored policy, validated, by name.
pub async fn all(pool: &PgPool) -> Result<Vec<Policy>, ServiceError> {
    let mut conn = pool.acquire().await?;
    trust_bundle::load_policies(&mut conn).await
}

/// Every key group and policy as one multi-document YAML file (groups first, each by name),
/// which `apply` takes back unchanged.
pub async fn export(pool: &PgPool) -> Result<String, ServiceError> {
    let mut conn = pool.acquire().await?;
    let groups = trust_bundle::load_key_groups(&mut conn).await?;
    let policies = trust_bundle::load_policies(&mut conn).await?;
    let items: Vec<PolicyItem> = groups
        .into_iter()
        .map(PolicyItem::KeyGroup)
        .chain(policies.into_iter().map(PolicyItem::Policy))
        .collect();
    Ok(to_yaml_documents(&items))
}

/// Applies a file of YAML (or JSON) documents. See [`apply_items`].
pub async fn apply(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    text: &str,
    options: ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    let items = parse_documents_indexed(text).map_err(ApplyError::Invalid)?;
    apply_items(pool, actor, publisher, items, options).await
}

fn label(kind: DocumentKind, name: &str, side: &str) -> String {
    format!("{side}/{}/{name}", kind.as_str())
}

/// Validates documents (each with its position in the file) against what exists — every key a
/// policy or group names must be imported, every group a policy names must exist or be in the
/// file — computes the diff, and unless `dry_run` stores the changes, audits each one and
/// publishes a new trust-bundle version, all in one transaction. Nothing is stored when anything
/// is refused.
pub async fn apply_items(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    items: Vec<(usize, PolicyItem)>,
    options: ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    let mut tx = pool.begin().await?;
    let outcome = apply_items_in(&mut tx, actor, publisher, items, options).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// As [`apply_items`], inside the caller's transaction (an incident step that updates policies
/// records itself in the same transaction). A dry run writes nothing.
pub async fn apply_items_in(
    tx: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    items: Vec<(usize, PolicyItem)>,
    options: ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPLY_LOCK)
        .execute(&mut *tx)
        .await?;
    let key_names: HashSet<String> = keys::names(tx).await?.into_iter().collect();
    let stored_groups: BTreeMap<String, KeyGroup> = trust_bundle::load_key_groups(tx)
        .await?
        .into_iter()
        .map(|g| (g.name().to_owned(), g))
        .collect();
    let stored_policies: BTreeMap<String, Policy> = trust_bundle::load_policies(tx)
        .await?
        .into_iter()
        .map(|p| (p.name().to_owned(), p))
        .collect();

    let mut groups: Vec<(usize, &KeyGroup)> = Vec::new();
    let mut policies: Vec<(usize, &Policy)> = Vec::new();
    for (i, item) in &items {
        match item {
            PolicyItem::KeyGroup(g) => groups.push((*i, g)),
            PolicyItem::Policy(p) => policies.push((*i, p)),
        }
    }

    // References.
    let has_key = |name: &str| key_names.contains(name);
    let has_group = |name: &str| {
        groups.iter().any(|(_, g)| g.name() == name)
            || (!options.prune && stored_groups.contains_key(name))
    };
    let import_hint = |name: &str| {
        format!("no key named {name:?} is imported; import it first (trustwatch keys import --name {name:?} --file KEY.pub)")
    };
    let mut problems = Vec::new();
    for (i, group) in &groups {
        for (j, key) in group.keys().iter().enumerate() {
            if !has_key(key) {
                problems.push(Problem::new(
                    format!("documents[{i}].spec.keys[{j}]"),
                    import_hint(key),
                ));
            }
        }
    }
    for (i, policy) in &policies {
        for (j, key) in policy.key_authorities().enumerate() {
            if !has_key(key) {
                problems.push(Problem::new(
                    format!("documents[{i}].spec.authorities.keys[{j}]"),
                    import_hint(key),
                ));
            }
        }
        for (j, group) in policy.group_authorities().enumerate() {
            if !has_group(group) {
                let why = if options.prune && stored_groups.contains_key(group) {
                    " (it exists, but --prune deletes what the file does not contain: add it to the file)"
                } else {
                    " (add a KeyGroup document to the file)"
                };
                problems.push(Problem::new(
                    format!("documents[{i}].spec.authorities.groups[{j}]"),
                    format!("no key group named {group:?}{why}"),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApplyError::Invalid(Problems(problems)));
    }

    // The diff.
    let mut changes = Vec::new();
    let mut diff_of = |kind: DocumentKind, name: &str, old: Option<String>, new: Option<String>| {
        let change = match (&old, &new) {
            (None, Some(_)) => ChangeKind::Created,
            (Some(_), None) => ChangeKind::Deleted,
            (Some(o), Some(n)) if o == n => ChangeKind::Unchanged,
            _ => ChangeKind::Changed,
        };
        let old_label = old
            .as_ref()
            .map_or("/dev/null".to_owned(), |_| label(kind, name, "stored"));
        let new_label = new
            .as_ref()
            .map_or("/dev/null".to_owned(), |_| label(kind, name, "applied"));
        changes.push(DocumentChange {
            kind,
            name: name.to_owned(),
            change,
            diff: diff::unified(
                &old_label,
                &new_label,
                old.as_deref().unwrap_or(""),
                new.as_deref().unwrap_or(""),
            ),
        });
    };
    for (_, g) in &groups {
        let old = stored_groups.get(g.name()).map(KeyGroup::to_yaml);
        diff_of(DocumentKind::KeyGroup, g.name(), old, Some(g.to_yaml()));
    }
    for (_, p) in &policies {
        let old = stored_policies.get(p.name()).map(Policy::to_yaml);
        diff_of(DocumentKind::Policy, p.name(), old, Some(p.to_yaml()));
    }
    if options.prune {
        for (name, p) in &stored_policies {
            if !policies.iter().any(|(_, q)| q.name() == name) {
                diff_of(DocumentKind::Policy, name, Some(p.to_yaml()), None);
            }
        }
        for (name, g) in &stored_groups {
            if !groups.iter().any(|(_, h)| h.name() == name) {
                diff_of(DocumentKind::KeyGroup, name, Some(g.to_yaml()), None);
            }
        }
    }

    let mut outcome = ApplyOutcome {
        dry_run: options.dry_run,
        changes,
        bundle_version: None,
    };
    if options.dry_run || !outcome.changed() {
        return Ok(outcome);
    }

    // The writes, in the order of the changes: groups, policies, then deletions. The bundle
    // published at the end is checked for consistency as a whole.
    for change in &outcome.changes {
        let target = format!("{}:{}", change.kind.audit_name(), change.name);
        let detail = |extra: serde_json::Value| {
            let mut d = json!({"diff": change.diff});
            if let (Some(d), serde_json::Value::Object(extra)) = (d.as_object_mut(), extra) {
                d.extend(extra);
            }
            d
        };
        match (change.kind, change.change) {
            (_, ChangeKind::Unchanged) => continue,
            (DocumentKind::KeyGroup, ChangeKind::Deleted) => {
                key_groups::delete(tx, &change.name).await?;
                audit::append(tx, actor, "key_group.deleted", &target, detail(json!({}))).await?;
            }
            (DocumentKind::Policy, ChangeKind::Deleted) => {
                sqlx::query("DELETE FROM policies WHERE name = $1")
                    .bind(&change.name)
                    .execute(&mut *tx)
                    .await?;
                audit::append(tx, actor, "policy.deleted", &target, detail(json!({}))).await?;
            }
            (DocumentKind::KeyGroup, c) => {
                let Some((_, group)) = groups.iter().find(|(_, g)| g.name() == change.name) else {
                    continue;
                };
                key_groups::upsert(tx, actor, group).await?;
                audit::append(
                    tx,
                    actor,
                    &format!("key_group.{}", c.as_str()),
                    &target,
                    detail(json!({"keys": group.keys()})),
                )
                .await?;
            }
            (DocumentKind::Policy, c) => {
                let Some((_, policy)) = policies.iter().find(|(_, p)| p.name() == change.name)
                else {
                    continue;
                };
                let document = serde_json::to_value(policy.to_document())
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                let version: i32 = sqlx::query_scalar(
                    "INSERT INTO policies (id, name, mode, document, created_by, updated_by)
                     VALUES ($1, $2, $3, $4, $5, $5)
                     ON CONFLICT (name) DO UPDATE
                        SET mode = EXCLUDED.mode, document = EXCLUDED.document,
                            version = policies.version + 1, updated_at = now(),
                            updated_by = EXCLUDED.updated_by
                     RETURNING version",
                )
                .bind(Uuid::now_v7())
                .bind(policy.name())
                .bind(policy.mode().as_str())
                .bind(&document)
                .bind(&actor.label)
                .fetch_one(&mut *tx)
                .await?;
                audit::append(
                    tx,
                    actor,
                    &format!("policy.{}", c.as_str()),
                    &target,
                    detail(json!({"version": version, "mode": policy.mode().as_str(), "document": document})),
                )
                .await?;
            }
        }
    }
    let summary: Vec<String> = outcome
        .changes
        .iter()
        .filter(|c| c.change != ChangeKind::Unchanged)
        .map(|c| format!("{} {} {}", c.kind.audit_name(), c.name, c.change.as_str()))
        .collect();
    let published = trust_bundle::publish(
        tx,
        actor,
        publisher,
        &format!("policies applied: {}", summary.join(", ")),
    )
    .await
    .map_err(ApplyError::Service)?;
    outcome.bundle_version = Some(published.version);
    Ok(outcome)
}
