use leptos::prelude::*;

use crate::model::{
    BlastRadiusView, LiveView, PropagationView, RecoveryView, ResignView, ReviewView,
};

/// The live view of an incident step: blast radius, propagation, recovery, the policy diff, the
/// images to re-sign, or the review's timeline.
#[component]
pub fn LivePanel(live: LiveView) -> impl IntoView {
    match live {
        LiveView::BlastRadius(b) => view! { <BlastRadius b /> }.into_any(),
        LiveView::Propagation(p) => view! { <Propagation p /> }.into_any(),
        LiveView::Recovery(r) => view! { <Recovery r /> }.into_any(),
        LiveView::PolicyDiff(changes) => view! {
            <section class="live policy-diff" data-live="policy-diff">
                <h3>"The change, before it is applied"</h3>
                {if changes.is_empty() {
                    view! { <p class="muted">"No policy or key group trusts the old key: nothing to change."</p> }.into_any()
                } else {
                    changes
                        .into_iter()
                        .map(|c| view! {
                            <div class="diff-item">
                                <p><strong>{c.kind} " " {c.name}</strong> " — " {c.change}</p>
                                <pre class="diff">{c.diff}</pre>
                            </div>
                        })
                        .collect_view()
                        .into_any()
                }}
            </section>
        }
        .into_any(),
        LiveView::Resign(r) => view! { <Resign r /> }.into_any(),
        LiveView::Review(r) => view! { <Review r /> }.into_any(),
        LiveView::Link { href, label } => view! {
            <p class="live"><a href=href>{label}</a></p>
        }
        .into_any(),
    }
}

#[component]
fn BlastRadius(b: BlastRadiusView) -> impl IntoView {
    view! {
        <section class="live blast-radius" data-live="blast-radius" data-signatures=b.signatures data-digests=b.digests>
            <p>
                <strong>{b.signatures}</strong> " signature(s) of " <strong>{b.digests}</strong>
                " digest(s) since " {b.since.clone()} "; "
                <strong>{b.anomalous_groups}</strong> " anomalous group(s); "
                <strong>{b.workloads.len()}</strong> " workload(s) admitted on them, "
                <strong>{b.probably_running}</strong> " probably still running. "
                <a href=b.csv_href.clone() download>"Download CSV"</a>
            </p>
            {b.truncated.then(|| view! { <p class="notice warn">"The lists are cut; the counts are whole."</p> })}
            <div class="table-wrap">
                <table class="blast-signatures">
                    <caption>"Signatures at or after T, by repository and signer"</caption>
                    <thead>
                        <tr><th>"Repository"</th><th>"Signer identity"</th><th>"Hosts"</th><th>"Signatures"</th><th>"Digests"</th><th>"First"</th><th>"Last"</th><th>"Anomalous"</th></tr>
                    </thead>
                    <tbody>
                        {b.groups
                            .into_iter()
                            .map(|g| {
                                let anomalous = !g.anomalies.is_empty();
                                view! {
                                    <tr class:anomalous=anomalous data-anomalous=anomalous.to_string()>
                                        <td>{g.repository}</td>
                                        <td><code>{g.signer_identity}</code></td>
                                        <td>{g.signer_hosts}</td>
                                        <td>{g.signatures}</td>
                                        <td>{g.digests}</td>
                                        <td>{g.first_signed}</td>
                                        <td>{g.last_signed}</td>
                                        <td>{g.anomalies.join("; ")}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="table-wrap">
                <table class="blast-workloads">
                    <caption>"Workloads admitted on those digests"</caption>
                    <thead>
                        <tr><th>"Cluster"</th><th>"Namespace"</th><th>"Workload"</th><th>"Image"</th><th>"Admissions"</th><th>"Last admitted"</th></tr>
                    </thead>
                    <tbody>
                        {b.workloads
                            .into_iter()
                            .map(|w| {
                                let href = format!("/images/{}", w.digest);
                                view! {
                                    <tr data-running=w.probably_running.to_string()>
                                        <td>{w.cluster}</td>
                                        <td>{w.namespace}</td>
                                        <td>{w.workload}</td>
                                        <td><a href=href>{w.image}</a></td>
                                        <td>{w.admissions}</td>
                                        <td>{w.last_admitted} {w.probably_running.then_some(" (probably running)")}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Propagation(p: PropagationView) -> impl IntoView {
    let target = p
        .target_version
        .map(|v| format!("bundle version {v}"))
        .unwrap_or_else(|| "the containing bundle (not published yet)".into());
    view! {
        <section class="live propagation" data-live="propagation" data-complete=p.complete.to_string()>
            <p>
                "Waiting for " {target} ": "
                <strong>{p.acknowledged}</strong> " acknowledged, "
                <strong>{p.behind}</strong> " behind, "
                <strong>{p.silent}</strong> " silent, "
                <strong>{p.other_engine}</strong> " on other engines."
                {p.complete.then_some(" Every active cluster has it.")}
            </p>
            <div class="table-wrap">
                <table class="propagation-clusters">
                    <thead>
                        <tr><th>"Cluster"</th><th>"Environment"</th><th>"Engine"</th><th>"State"</th><th>"Bundle"</th><th>"Acknowledged"</th><th>"Last report"</th></tr>
                    </thead>
                    <tbody>
                        {p.clusters
                            .into_iter()
                            .map(|c| {
                                let state_class = format!("state-{}", c.state);
                                let note = c
                                    .bundle_expires
                                    .map(|e| format!(" — trusts its old bundle until {e}"));
                                let export = c.export.map(|x| view! {
                                    <tr class="export-row">
                                        <td colspan="7">
                                            <details>
                                                <summary>{format!("{} export for {} ({})", x.format, c.name, x.cache_note)}</summary>
                                                <pre>{x.yaml}</pre>
                                            </details>
                                        </td>
                                    </tr>
                                });
                                view! {
                                    <tr data-cluster=c.name.clone() data-state=c.state.clone() class=state_class>
                                        <td>{c.name.clone()}</td>
                                        <td>{c.environment}</td>
                                        <td>{c.engine}</td>
                                        <td>{c.state.replace('_', " ")} {note}</td>
                                        <td>{c.bundle_version.map(|v| v.to_string()).unwrap_or_else(|| "—".into())}</td>
                                        <td>{c.acknowledged_at}</td>
                                        <td>{c.last_report}</td>
                                    </tr>
                                    {export}
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Recovery(r: RecoveryView) -> impl IntoView {
    let relying = r.relying_admissions;
    view! {
        <section class="live recovery" data-live="recovery" data-relying=relying>
            <ul>
                <li><strong>{r.resigned}</strong> " of " <strong>{r.digests}</strong> " affected digest(s) re-signed by a trusted key."</li>
                <li class:bad=relying != 0>
                    <strong>{relying}</strong> " admission(s) relied on the contained key since containment"
                    {if relying == 0 { " — as it should be." } else { " — a cluster still trusts it: go back to Propagation." }}
                </li>
            </ul>
            {(!r.relying.is_empty()).then(|| view! {
                <table>
                    <thead><tr><th>"Workload"</th><th>"Image"</th><th>"Admitted"</th></tr></thead>
                    <tbody>{r.relying.into_iter().map(|(w, i, at)| view! { <tr><td>{w}</td><td>{i}</td><td>{at}</td></tr> }).collect_view()}</tbody>
                </table>
            })}
            <h4>"Refusals of affected images since containment, per hour"</h4>
            {if r.rejections_per_hour.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="recovery-rejections">
                        <thead><tr><th>"Hour (UTC)"</th><th>"Refusals"</th></tr></thead>
                        <tbody>{r.rejections_per_hour.into_iter().map(|(h, n)| view! { <tr><td>{h}</td><td>{n}</td></tr> }).collect_view()}</tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn Resign(r: ResignView) -> impl IntoView {
    let left = r.digests.iter().filter(|d| !d.resigned).count();
    view! {
        <section class="live resign" data-live="resign" data-left=left>
            <p><strong>{left}</strong> " digest(s) still to re-sign with " <code>{r.key.clone()}</code> "."</p>
            {(!r.digests.is_empty()).then(|| view! {
                <ul class="resign-list">
                    {r.digests
                        .into_iter()
                        .map(|d| view! {
                            <li data-resigned=d.resigned.to_string()>
                                <code>{d.reference}</code>
                                {if d.resigned {
                                    view! { " — re-signed" }.into_any()
                                } else {
                                    view! {
                                        <pre class="command">{d.trustwatch_command}"\n"{d.cosign_command}</pre>
                                    }
                                        .into_any()
                                }}
                            </li>
                        })
                        .collect_view()}
                </ul>
            })}
        </section>
    }
}

#[component]
fn Review(r: ReviewView) -> impl IntoView {
    view! {
        <section class="live review" data-live="review">
            <dl class="facts review-figures">
                {r.figures
                    .into_iter()
                    .map(|(k, v)| view! { <dt>{k.clone()}</dt> <dd data-figure=k>{v}</dd> })
                    .collect_view()}
            </dl>
            {(!r.overrides.is_empty()).then(|| view! {
                <div class="notice error">
                    <strong>"Emergency overrides"</strong>
                    <ul>{r.overrides.into_iter().map(|(s, why)| view! { <li>{s} ": " {why}</li> }).collect_view()}</ul>
                </div>
            })}
            {(!r.unticked.is_empty()).then(|| view! {
                <div>
                    <strong>"Checklist items left unticked"</strong>
                    <ul>{r.unticked.into_iter().map(|(s, item)| view! { <li>{s} ": " {item}</li> }).collect_view()}</ul>
                </div>
            })}
            <h4>"Timeline (from the audit log)"</h4>
            <table class="timeline">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th></tr></thead>
                <tbody>
                    {r.timeline
                        .into_iter()
                        .map(|(at, who, what, flagged)| view! {
                            <tr class:flagged=flagged><td>{at}</td><td>{who}</td><td>{what}</td></tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p><a href=r.markdown_href download>"Export the review as Markdown"</a></p>
        </section>
    }
}
