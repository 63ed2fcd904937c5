use leptos::prelude::*;

use crate::model::KeyUsageView;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room for the axis labels left and below the bars.
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 20.0;

/// Signatures per day as stacked bars, one colour per signer identity, drawn as SVG on the
/// server (no chart library, no font files: the browser draws the few labels), with the same
/// numbers in a table for screen readers and for copying.
#[component]
pub fn UsageChart(usage: KeyUsageView) -> impl IntoView {
    let days = usage.days.len().max(1);
    let peak = (0..usage.days.len())
        .map(|d| usage.day_total(d))
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (WIDTH - LEFT) / days as f64;
    let plot = HEIGHT - BOTTOM;
    let scale = |n: i64| n as f64 / peak as f64 * (plot - 8.0);
    let mut bars = Vec::new();
    for d in 0..usage.days.len() {
        let mut y = plot;
        for (i, series) in usage.counts.iter().enumerate() {
            let n = series.get(d).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = scale(n);
            y -= h;
            bars.push(view! {
                <rect
                    class=format!("series-{i}")
                    x=format!("{:.1}", LEFT + d as f64 * slot + slot * 0.1)
                    y=format!("{y:.1}")
                    width=format!("{:.1}", slot * 0.8)
                    height=format!("{h:.1}")
                    data-day=usage.days[d].clone()
                    data-count=n.to_string()
                />
            });
        }
    }
    let summary = format!(
        "{} signatures over {} days, {} a day at most, by {} signer identities",
        usage.total,
        usage.days.len(),
        if usage.total == 0 { 0 } else { peak },
        usage.signers
    );
    let first = usage.days.first().cloned().unwrap_or_default();
    let last = usage.days.last().cloned().unwrap_or_default();
    let rows: Vec<(String, Vec<i64>, i64)> = (0..usage.days.len())
        .filter(|d| usage.day_total(*d) > 0)
        .rev()
        .map(|d| {
            (
                usage.days[d].clone(),
                usage
                    .counts
                    .iter()
                    .map(|c| c.get(d).copied().unwrap_or(0))
                    .collect(),
                usage.day_total(d),
            )
        })
        .collect();
    view! {
        <figure class="usage-chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=summary.clone()
            >
                <line class="axis" x1=LEFT.to_string() y1=plot.to_string() x2=WIDTH.to_string() y2=plot.to_string() />
                <text class="axis-label" x=(LEFT - 4.0).to_string() y="14" text-anchor="end">{if usage.total == 0 { 0 } else { peak }}</text>
                <text class="axis-label" x=(LEFT - 4.0).to_string() y=plot.to_string() text-anchor="end">"0"</text>
                <text class="axis-label" x=LEFT.to_string() y=(HEIGHT - 4.0).to_string()>{first}</text>
                <text class="axis-label" x=WIDTH.to_string() y=(HEIGHT - 4.0).to_string() text-anchor="end">{last}</text>
                {bars}
            </svg>
            <figcaption>
                <p class="muted">{summary}</p>
                <ul class="legend">
                    {usage
                        .identities
                        .iter()
                        .enumerate()
                        .map(|(i, name)| view! {
                            <li><span class=format!("swatch series-{i}") aria-hidden="true"></span> {name.clone()}</li>
                        })
                        .collect_view()}
                </ul>
            </figcaption>
            <details>
                <summary>"The numbers"</summary>
                <div class="table-wrap">
                    <table class="usage-numbers">
                        <thead>
                            <tr>
                                <th>"Day (UTC)"</th>
                                {usage.identities.iter().map(|i| view! { <th class="num">{i.clone()}</th> }).collect_view()}
                                <th class="num">"All"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|(day, counts, total)| view! {
                                    <tr>
                                        <td>{day}</td>
                                        {counts.into_iter().map(|n| view! { <td class="num">{n}</td> }).collect_view()}
                                        <td class="num">{total}</td>
                                    </tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}
