use leptos::prelude::*;

use crate::error::AppError;
use crate::model::IncidentView;

/// One incident: its steps with their state and who did what, the live views of its query
/// steps, its comments and its clock. Before reading, a propagation step whose condition holds
/// completes itself, so nobody waits on the background loop. Every logged-in role may read.
#[server(prefix = "/ui", endpoint = "incidents/get")]
pub async fn get_incident(id: String) -> Result<IncidentView, AppError> {
    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let id = super::incident_id(&id)?;
    let now = chrono::Utc::now();
    service::incidents::advance_one(&state.pool, id, state.stale_after, now).await?;
    let incident = service::incidents::get(&state.pool, id).await?;
    build::incident_view(&state, &caller, &incident, now).await
}

#[cfg(feature = "ssr")]
mod build {
    use chrono::{DateTime, Utc};
    use domain::playbook::{ActionKind, QueryKind, StepKind, StepStatus};
    use service::incidents::{blast_radius, propagation, recovery, review, Incident};

    use crate::auth::Caller;
    use crate::error::AppError;
    use crate::model::*;
    use crate::state::AppState;

    pub async fn incident_view(
        state: &AppState,
        caller: &Caller,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<IncidentView, AppError> {
        let r = &incident.row;
        let progress = incident.progress()?;
        let playbook = incident.playbook();
        let title_of = |id: &str| {
            playbook
                .step(id)
                .map(|s| s.title.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        let closed = incident.is_closed();
        let can_act = !closed
            && super::super::RESPONDERS
                .iter()
                .any(|role| caller.user.role.grants(*role));
        let ready: Vec<String> = progress.ready().iter().map(|s| s.id.clone()).collect();
        let mut steps = Vec::with_capacity(playbook.steps().len());
        for step in playbook.steps() {
            let stored = incident.step(&step.id);
            let st = progress.state(&step.id).cloned().unwrap_or_default();
            let mut record = Vec::new();
            if let (Some(by), Some(at)) = (&st.requested_by, stored.and_then(|s| s.requested_at)) {
                record.push(format!(
                    "approval requested by {by} at {}",
                    time::absolute(at)
                ));
            }
            if let (Some(by), Some(at)) = (&st.approved_by, stored.and_then(|s| s.approved_at)) {
                record.push(format!("approved by {by} at {}", time::absolute(at)));
            }
            if let Some(at) = stored.and_then(|s| s.done_at) {
                let who = st
                    .done_by
                    .clone()
                    .unwrap_or_else(|| "Trustwatch (by itself)".into());
                let verb = if st.status == StepStatus::Skipped {
                    "skipped"
                } else {
                    "done"
                };
                record.push(format!("{verb} by {who} at {}", time::absolute(at)));
            }
            let items = match &step.kind {
                StepKind::Checklist { items } => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (item.clone(), st.ticked.contains(&i)))
                    .collect(),
                _ => Vec::new(),
            };
            let (action, query, auto_complete, override_allowed) = match &step.kind {
                StepKind::Action {
                    action,
                    emergency_override,
                    ..
                } => (
                    Some(action.as_str().to_owned()),
                    None,
                    false,
                    *emergency_override,
                ),
                StepKind::Query {
                    query,
                    auto_complete,
                } => (None, Some(query.as_str().to_owned()), *auto_complete, false),
                _ => (None, None, false, false),
            };
            let approval = step.approval().map(|a| {
                let gate = progress.state(a).cloned().unwrap_or_default();
                let granted = gate.status == StepStatus::Approved
                    || (gate.status == StepStatus::Skipped && gate.override_reason.is_some());
                (title_of(a), granted)
            });
            let override_possible = override_allowed
                && approval.as_ref().is_some_and(|(_, granted)| !granted)
                && !st.status.is_finished();
            let data = stored.map(|s| s.data.clone()).unwrap_or_default();
            let is_ready = ready.contains(&step.id);
            // Live views are read for the steps someone is on or has finished: a view of a
            // step still waiting would show a state nobody acts on yet. What containment would
            // break is the exception: it is read while the approval is being decided.
            let visible = is_ready
                || st.status.is_finished()
                || matches!(
                    step.kind,
                    StepKind::Action {
                        action: ActionKind::ContainKey,
                        ..
                    }
                );
            let live = if visible {
                live_view(state, incident, step, now).await?
            } else {
                None
            };
            let review_text = match &step.kind {
                StepKind::Review => data["root_cause"].as_str().map(|rc| {
                    (
                        rc.to_owned(),
                        data["follow_ups"].as_str().unwrap_or("").to_owned(),
                    )
                }),
                _ => None,
            };
            steps.push(StepView {
                id: step.id.clone(),
                title: step.title.clone(),
                kind: step.kind.name().to_owned(),
                instructions: step.instructions.clone(),
                required: step.required,
                status: st.status.as_str().to_owned(),
                ready: is_ready,
                waiting_for: progress
                    .waiting_for(step)
                    .iter()
                    .map(|w| title_of(w))
                    .collect(),
                record,
                override_reason: st.override_reason.clone(),
                items,
                action,
                query,
                auto_complete,
                override_possible,
                approval,
                result: facts(&data),
                revision: format!(
                    "{}:{}:{}:{}",
                    step.id,
                    st.status.as_str(),
                    is_ready,
                    stored.map(|s| s.updated_at.timestamp_micros()).unwrap_or(0)
                ),
                live,
                review_text,
            });
        }
        let figures = review::figures(incident);
        let figure =
            |d: Option<chrono::TimeDelta>| d.map(review::human).unwrap_or_else(|| "—".into());
        let key_ref = |name: &Option<String>, fp: &Option<String>, status: &Option<String>| {
            name.as_ref().map(|n| KeyRefView {
                name: n.clone(),
                fingerprint: fp.clone().unwrap_or_default(),
                status: status.clone().unwrap_or_default(),
            })
        };
        let replacement = match &r.replacement_key_name {
            Some(name) => service::keys::get(&state.pool, name)
                .await?
                .map(|k| KeyRefView {
                    name: k.name,
                    fingerprint: k.fingerprint,
                    status: k.status,
                }),
            None => None,
        };
        Ok(IncidentView {
            id: r.id.to_string(),
            title: r.title.clone(),
            playbook: playbook.title().to_owned(),
            playbook_version: r.playbook_version.clone(),
            severity: r.severity.clone(),
            status: r.status.clone(),
            drill: r.drill,
            commander: r.commander.clone(),
            opened_by: r
                .opened_by
                .strip_prefix("user:")
                .unwrap_or(&r.opened_by)
                .to_owned(),
            opened: time::absolute(r.opened_at),
            elapsed: review::human(r.closed_at.unwrap_or(now) - r.opened_at),
            closed: r.closed_at.map(time::absolute),
            key: key_ref(&r.key_name, &r.key_fingerprint, &r.key_status),
            replacement_key: replacement,
            compromised_since: r.compromised_since.map(time::absolute),
            figures: vec![
                ("Time to contain".into(), figure(figures.time_to_contain)),
                (
                    "Time to propagate".into(),
                    figure(figures.time_to_propagate),
                ),
                ("Time to recover".into(), figure(figures.time_to_recover)),
            ],
            steps,
            comments: incident
                .comments
                .iter()
                .map(|c| CommentView {
                    id: c.id.to_string(),
                    step: c.step_id.as_deref().map(title_of),
                    author: c.author.clone(),
                    at: time::absolute(c.created_at),
                    body: c.body.clone(),
                })
                .collect(),
            can_act,
            can_approve: !closed && caller.user.role == domain::Role::Security,
            me: caller.user.email.clone(),
            close_blocked: if closed {
                Some("the incident is closed".into())
            } else {
                progress.may_close().err().map(|e| e.to_string())
            },
        })
    }

    /// A step's record as facts, without the bookkeeping fields.
    fn facts(data: &serde_json::Value) -> Vec<(String, String)> {
        let Some(map) = data.as_object() else {
            return Vec::new();
        };
        map.iter()
            .filter(|(k, _)| !matches!(k.as_str(), "root_cause" | "follow_ups" | "changes"))
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.replace('_', " "), text)
            })
            .collect()
    }

    async fn live_view(
        state: &AppState,
        incident: &Incident,
        step: &domain::playbook::Step,
        now: DateTime<Utc>,
    ) -> Result<Option<LiveView>, AppError> {
        let r = &incident.row;
        match &step.kind {
            StepKind::Query { query, .. } => match query {
                QueryKind::BlastRadius => {
                    let (Some(fp), Some(since)) = (&r.key_fingerprint, r.compromised_since) else {
                        return Ok(None);
                    };
                    let b = blast_radius::compute(&state.pool, fp, since).await?;
                    Ok(Some(LiveView::BlastRadius(blast_view(&b, r.id, now))))
                }
                QueryKind::Propagation => {
                    let mut conn = state
                        .pool
                        .acquire()
                        .await
                        .map_err(service::ServiceError::from)?;
                    let p = propagation::view(&mut conn, r, state.stale_after, now).await?;
                    Ok(Some(LiveView::Propagation(
                        propagation_view(state, r, &p, now).await?,
                    )))
                }
                QueryKind::Recovery => {
                    let mut conn = state
                        .pool
                        .acquire()
                        .await
                        .map_err(service::ServiceError::from)?;
                    let v = recovery::view(&mut conn, r).await?;
                    Ok(Some(LiveView::Recovery(RecoveryView {
                        digests: v.digests.len(),
                        resigned: v.resigned(),
                        relying_admissions: v.relying_admissions,
                        relying: v
                            .relying
                            .iter()
                            .map(|a| {
                                (
                                    format!("{}/{}/{}", a.cluster, a.namespace, a.workload_name),
                                    a.image.clone(),
                                    time::absolute(a.observed_at),
                                )
                            })
                            .collect(),
                        rejections_per_hour: v
                            .rejections_per_hour
                            .iter()
                            .map(|(h, n)| (h.format("%Y-%m-%d %H:00").to_string(), *n))
                            .collect(),
                    })))
                }
                QueryKind::KeyUsage => Ok(r.key_fingerprint.as_ref().map(|fp| LiveView::Link {
                    href: format!("/keys/{fp}"),
                    label: "The key's page: policies that trust it, signers, images".into(),
                })),
                QueryKind::SignerIdentityActivity => {
                    Ok(r.key_fingerprint.as_ref().map(|fp| LiveView::Link {
                        href: format!("/keys/{fp}"),
                        label: "Signers of the key, with first and last use".into(),
                    }))
                }
                QueryKind::RejectionRates => Ok(Some(LiveView::Link {
                    href: "/rejections?range=24h".into(),
                    label: "Refusals of the last 24 hours, by cluster and reason".into(),
                })),
            },
            StepKind::Action {
                action: ActionKind::ContainKey,
                ..
            } => Ok(r.key_name.as_ref().map(|key| {
                let since = r
                    .compromised_since
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .unwrap_or_default();
                LiveView::Link {
                    href: format!(
                        "/what-if?change=compromise&key={}&since={since}&days=7",
                        query_value(key)
                    ),
                    label: "What breaks: the workloads of the last 7 days that containment would refuse".into(),
                }
            })),
            StepKind::Action {
                action: ActionKind::UpdatePolicies,
                ..
            } if r.replacement_key_name.is_some() => {
                let changes = service::incidents::actions::policy_preview(
                    &state.pool,
                    &service::Actor::cli(),
                    &state.publisher,
                    r.id,
                    None,
                )
                .await?;
                Ok(Some(LiveView::PolicyDiff(
                    changes
                        .into_iter()
                        .map(|c| PolicyDiffView {
                            kind: c.kind.as_str().to_owned(),
                            name: c.name,
                            change: c.change.as_str().to_owned(),
                            diff: c.diff,
                        })
                        .collect(),
                )))
            }
            StepKind::Checklist { .. } if re_signs(incident, step) => {
                let Some(fp) = &r.key_fingerprint else {
                    return Ok(None);
                };
                let since = recovery::affected_since(r);
                let digests = blast_radius::digests_to_resign(&state.pool, fp, since).await?;
                let key = r
                    .replacement_key_name
                    .clone()
                    .unwrap_or_else(|| "<new key>".into());
                Ok(Some(LiveView::Resign(ResignView {
                    key: key.clone(),
                    digests: digests
                        .into_iter()
                        .map(|d| {
                            let reference = format!("{}@{}", d.repository, d.digest);
                            ResignDigestView {
                                trustwatch_command: format!(
                                    "trustwatch sign --key {key}.key --server <trustwatch url> {reference}"
                                ),
                                cosign_command: format!("cosign sign --key {key}.key {reference}"),
                                reference,
                                resigned: d.resigned,
                            }
                        })
                        .collect(),
                })))
            }
            StepKind::Review => {
                let rv = review::assemble(&state.pool, incident).await?;
                let f = |d: Option<chrono::TimeDelta>| {
                    d.map(review::human).unwrap_or_else(|| "not reached".into())
                };
                Ok(Some(LiveView::Review(ReviewView {
                    figures: vec![
                        ("Time to contain".into(), f(rv.figures.time_to_contain)),
                        (
                            "Time to full propagation".into(),
                            f(rv.figures.time_to_propagate),
                        ),
                        ("Time to recover".into(), f(rv.figures.time_to_recover)),
                    ],
                    timeline: rv
                        .timeline
                        .into_iter()
                        .map(|e| (time::absolute(e.at), e.who, e.what, e.flagged))
                        .collect(),
                    overrides: rv.overrides,
                    unticked: rv.unticked,
                    markdown_href: format!("/incidents/{}/review.md", r.id),
                })))
            }
            _ => Ok(None),
        }
    }

    /// A checklist that follows the policy update is where images get re-signed.
    fn re_signs(incident: &Incident, step: &domain::playbook::Step) -> bool {
        step.depends_on.iter().any(|d| {
            incident.playbook().step(d).is_some_and(|s| {
                matches!(
                    s.kind,
                    StepKind::Action {
                        action: ActionKind::UpdatePolicies,
                        ..
                    }
                )
            })
        })
    }

    fn blast_view(
        b: &blast_radius::BlastRadius,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> BlastRadiusView {
        let groups: Vec<SignatureGroupView> = b
            .groups
            .iter()
            .map(|g| {
                let mut anomalies = Vec::new();
                if g.new_identity {
                    anomalies.push("signer identity never used this key before T".to_owned());
                }
                if !g.new_hosts.is_empty() {
                    anomalies.push(format!("new host(s): {}", g.new_hosts.join(", ")));
                }
                SignatureGroupView {
                    repository: g.repository.clone(),
                    signer_identity: g.signer_identity.clone(),
                    signer_hosts: g
                        .signer_hosts
                        .iter()
                        .map(|h| {
                            if h.is_empty() {
                                "(not reported)"
                            } else {
                                h.as_str()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    signatures: g.signatures,
                    digests: g.digests,
                    first_signed: time::absolute(g.first_signed),
                    last_signed: time::absolute(g.last_signed),
                    anomalies,
                }
            })
            .collect();
        let workloads: Vec<AffectedWorkloadView> = b
            .workloads
            .iter()
            .map(|w| AffectedWorkloadView {
                cluster: w.cluster.clone(),
                namespace: w.namespace.clone(),
                workload: format!("{}/{}", w.workload_kind, w.workload_name),
                image: w.image.clone(),
                digest: w.digest.clone(),
                admissions: w.admissions,
                last_admitted: time::absolute(w.last_admitted),
                probably_running: w.probably_running(now),
            })
            .collect();
        BlastRadiusView {
            since: time::absolute(b.since),
            signatures: b.signatures,
            digests: b.digests,
            anomalous_groups: groups.iter().filter(|g| !g.anomalies.is_empty()).count(),
            probably_running: workloads.iter().filter(|w| w.probably_running).count(),
            groups,
            workloads,
            truncated: b.truncated,
            csv_href: format!("/incidents/{id}/blast-radius.csv"),
        }
    }

    async fn propagation_view(
        state: &AppState,
        incident: &service::incidents::IncidentRow,
        p: &propagation::PropagationView,
        _now: DateTime<Utc>,
    ) -> Result<PropagationView, AppError> {
        use domain::policy_export::{cache_expiry_note, ExportFormat};
        use propagation::ClusterState as S;
        // Clusters of other engines get the policy they need without the incident's key, read
        // once per format (not per cluster).
        let without: Vec<String> = incident.key_fingerprint.iter().cloned().collect();
        let mut exports: Vec<(ExportFormat, PolicyExportView)> = Vec::new();
        for c in p.clusters.iter().filter(|c| c.state == S::OtherEngine) {
            let Some(format) = export_format(c.cluster.engine.as_deref()) else {
                continue;
            };
            if exports.iter().any(|(f, _)| *f == format) {
                continue;
            }
            let documents = service::policy_export::export(&state.pool, format, &without).await?;
            exports.push((
                format,
                PolicyExportView {
                    format: format.as_str().to_owned(),
                    yaml: service::policy_export::to_multi_document_yaml(&documents),
                    cache_note: cache_expiry_note(format).to_owned(),
                },
            ));
        }
        let export_for = |engine: Option<&str>| {
            let format = export_format(engine)?;
            exports
                .iter()
                .find(|(f, _)| *f == format)
                .map(|(_, x)| x.clone())
        };
        Ok(PropagationView {
            target_version: p.target_version,
            acknowledged: p.count(S::Acknowledged),
            behind: p.count(S::Behind),
            silent: p.count(S::Silent),
            other_engine: p.count(S::OtherEngine),
            complete: p.complete_at().is_some(),
            clusters: p
                .clusters
                .iter()
                .map(|c| ClusterPropagationView {
                    name: c.cluster.name.clone(),
                    environment: c.cluster.environment.clone(),
                    engine: c.cluster.engine.clone().unwrap_or_else(|| "unknown".into()),
                    state: c.state.as_str().to_owned(),
                    bundle_version: c.cluster.bundle_version,
                    acknowledged_at: c
                        .cluster
                        .bundle_acknowledged_at
                        .map(time::absolute)
                        .unwrap_or_else(|| "—".into()),
                    last_report: c
                        .cluster
                        .last_report_at
                        .map(time::absolute)
                        .unwrap_or_else(|| "never".into()),
                    bundle_expires: (c.state == S::Silent)
                        .then(|| c.cluster.bundle_expires_at.map(time::absolute))
                        .flatten(),
                    export: (c.state == S::OtherEngine)
                        .then(|| export_for(c.cluster.engine.as_deref()))
                        .flatten(),
                })
                .collect(),
        })
    }

    /// The export an engine's clusters apply; `None` for engines Trustwatch cannot export for.
    fn export_format(engine: Option<&str>) -> Option<domain::policy_export::ExportFormat> {
        use domain::policy_export::ExportFormat;
        match engine? {
            "kyverno" => Some(ExportFormat::KyvernoClusterPolicy),
            "policy-controller" => Some(ExportFormat::PolicyController),
            _ => None,
        }
    }

    /// A value for a URL's query: unreserved characters as they are, everything else escaped.
    fn query_value(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}
