use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::trends::get_trends;
use crate::components::error_box::ErrorBox;
use crate::model::{
    QuarterResponseView, TrendChartView, TrendsView, CHART_HEIGHT, CHART_WIDTH,
    DEFAULT_TREND_RANGE, TREND_RANGES,
};

/// For managers: are we getting safer? Charts over a range picked by plain links (`?range=30d`),
/// so the page, drawn on the server, works without its script. Each chart is an image of
/// `/trends/<chart>.svg` (kept out of the HTML and the hydration data, which would carry every
/// SVG twice), described in words by its `alt`; its numbers download as CSV from
/// `/trends/<chart>.csv`.
#[component]
pub fn TrendsPage() -> impl IntoView {
    let query = use_query_map();
    let range = move || {
        query
            .read()
            .get("range")
            .unwrap_or_else(|| DEFAULT_TREND_RANGE.to_owned())
    };
    let data = Resource::new(range, get_trends);
    view! {
        <Title text="Trends" />
        <h1>"Trends"</h1>
        <nav class="range-selector" aria-label="Range">
            <span class="muted">"Range: "</span>
            {TREND_RANGES
                .iter()
                .map(|(value, label)| {
                    let current = move || (range() == *value).then_some("page");
                    view! {
                        <a href=format!("/trends?range={value}") aria-current=current>
                            {*label}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(t) => view! { <TrendsBody t /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TrendsBody(t: TrendsView) -> impl IntoView {
    let range = t.range.clone();
    view! {
        <p class="muted">
            "The last " {t.range_label} ", " {t.from} " to " {t.to} ", one point per "
            {t.bucket} " (UTC)."
        </p>
        <div class="trends">
            {t
                .charts
                .into_iter()
                .map(|c| view! { <TrendChart c range=range.clone() /> })
                .collect_view()}
        </div>
        <ResponseByQuarter quarters=t.quarters />
    }
}

/// Mean time to contain, propagate and recover per quarter, drills beside real incidents: the
/// figure a security team reports, and watches fall as practice makes it faster.
#[component]
fn ResponseByQuarter(quarters: Vec<QuarterResponseView>) -> impl IntoView {
    view! {
        <section class="card" id="response-by-quarter">
            <h2>"Incident response by quarter"</h2>
            {if quarters.is_empty() {
                view! { <p class="muted">"No incidents or drills in the last eight quarters."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th>"Quarter"</th>
                                    <th>"Kind"</th>
                                    <th class="num">"Count"</th>
                                    <th class="num">"Mean time to contain"</th>
                                    <th class="num">"to propagate"</th>
                                    <th class="num">"to recover"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {quarters
                                    .into_iter()
                                    .map(|q| {
                                        let kind = if q.drill { "drills" } else { "incidents" };
                                        let label = q.quarter.clone();
                                        view! {
                                            <tr data-quarter=q.quarter data-kind=kind>
                                                <td>{label}</td>
                                                <td>{kind}</td>
                                                <td class="num">{q.incidents}</td>
                                                <td class="num">{q.to_contain}</td>
                                                <td class="num">{q.to_propagate}</td>
                                                <td class="num">{q.to_recover}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn TrendChart(c: TrendChartView, range: String) -> impl IntoView {
    let csv = format!("/trends/{}.csv?range={range}", c.slug);
    let image = format!("/trends/{}.svg?range={range}", c.slug);
    let heading = format!("{}-heading", c.slug);
    let labelled_by = heading.clone();
    let has_chart = c.empty.is_none();
    let alt = c.alt;
    let legend = c.legend;
    view! {
        <figure class="card trend" id=c.slug.clone() aria-labelledby=labelled_by>
            <figcaption>
                <h2 id=heading>{c.title}</h2>
                <p class="muted">{c.description}</p>
            </figcaption>
            <dl class="figures">
                {c
                    .figures
                    .into_iter()
                    .map(|(label, value)| {
                        view! {
                            <div>
                                <dt>{label}</dt>
                                <dd>{value}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            {c.empty.map(|note| view! { <p class="trend-empty">{note}</p> })}
            <Show when=move || has_chart>
                <img
                    class="chart"
                    src=image.clone()
                    alt=alt.clone()
                    width=CHART_WIDTH
                    height=CHART_HEIGHT
                />
                <ul class="legend">
                    {legend
                        .clone()
                        .into_iter()
                        .map(|(name, colour)| {
                            view! {
                                <li>
                                    <span class="swatch" style=format!("background:{colour}")></span>
                                    {name}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </Show>
            <details>
                <summary>"Data table"</summary>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Bucket"</th>
                                {c
                                    .columns
                                    .into_iter()
                                    .map(|name| view! { <th scope="col" class="num">{name}</th> })
                                    .collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {c
                                .rows
                                .into_iter()
                                .map(|(bucket, values)| {
                                    view! {
                                        <tr>
                                            <th scope="row">{bucket}</th>
                                            {values
                                                .into_iter()
                                                .map(|v| view! { <td class="num">{v}</td> })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
            <p>
                <a class="csv" href=csv download rel="external">
                    "Download CSV"
                </a>
            </p>
        </figure>
    }
}
