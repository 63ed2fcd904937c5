use leptos::prelude::*;

use crate::error::AppError;
use crate::model::TrendsView;

/// Every chart of the Trends page over `range` (`24h`, `7d`, `30d`, `90d`): its numbers, figures
/// and text alternative. The picture is `/trends/<chart>.svg`, drawn when the browser asks.
#[server(prefix = "/ui", endpoint = "trends")]
pub async fn get_trends(range: String) -> Result<TrendsView, AppError> {
    use crate::model::{time, TrendChartView};
    use service::trends::{Bucket, TrendRange, Window};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let range = TrendRange::parse(&range)?;
    let window = Window::ending_at(range, chrono::Utc::now());
    let all = service::trends::load_all(&state.pool, window).await?;
    let labels: Vec<String> = window
        .buckets()
        .into_iter()
        .map(|t| match window.bucket {
            Bucket::Hour => t.format("%Y-%m-%d %H:00").to_string(),
            Bucket::Day => t.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let mut charts = Vec::with_capacity(all.len());
    for data in all {
        let chart = data.chart;
        let unit = chart.unit();
        let rows = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let values = data
                    .series
                    .iter()
                    .map(|s| s.values[i].map(|v| unit.format(v)).unwrap_or("–".into()))
                    .collect();
                (label.clone(), values)
            })
            .collect();
        charts.push(TrendChartView {
            slug: chart.slug().into(),
            title: chart.title().into(),
            description: chart.description().into(),
            alt: service::charts::describe(&data),
            legend: service::charts::legend(&data)
                .into_iter()
                .map(|(name, colour)| (name, colour.into()))
                .collect(),
            figures: data
                .figures
                .iter()
                .map(|f| {
                    let value = f.value.map(|v| f.unit.format(v)).unwrap_or("–".into());
                    (f.label.clone(), value)
                })
                .collect(),
            empty: data.empty,
            columns: data.series.iter().map(|s| s.name.clone()).collect(),
            rows,
        });
    }
    let seconds = |v: Option<f64>| {
        v.map(|v| service::trends::Unit::Seconds.format(v))
            .unwrap_or_else(|| "–".into())
    };
    let quarters = service::trends::response_by_quarter(&state.pool, 8, chrono::Utc::now())
        .await?
        .into_iter()
        .map(|q| crate::model::QuarterResponseView {
            quarter: q.quarter,
            drill: q.drill,
            incidents: q.incidents,
            to_contain: seconds(q.mean_to_contain),
            to_propagate: seconds(q.mean_to_propagate),
            to_recover: seconds(q.mean_to_recover),
        })
        .collect();
    Ok(TrendsView {
        quarters,
        range: range.as_str().into(),
        range_label: range.label().into(),
        bucket: window.bucket.as_str().into(),
        from: time::absolute(window.from),
        to: time::absolute(window.now),
        charts,
    })
}
