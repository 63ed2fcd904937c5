//! Trend charts drawn as SVG on the server with plotters, so the page is readable before (and
//! without) its script runs. The page shows each as an `<img>` of `/trends/<chart>.svg`, with
//! [`describe`] as its text alternative and the legend ([`legend`]) and a data table beside it in
//! HTML; the SVG carries the same `<title>` and `<desc>` for when it is opened on its own.
//!
//! Text in the SVG is `<text>` the browser lays out, so plotters needs no font files: its naive
//! metrics only place the labels.

use plotters::prelude::*;

use crate::trends::{Bucket, TrendData};
use crate::ServiceError;

/// The Trends page reserves this room for each image (`app::model::CHART_WIDTH`, `CHART_HEIGHT`).
const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;

/// Okabe–Ito colours: told apart with the common colour-vision deficiencies, readable on light
/// and dark backgrounds. Series beyond eight reuse them (the legend and table still tell).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#999999", "#7a5c00",
];

/// A chart ready for the page.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedChart {
    /// `<svg role="img">` with `<title>` and `<desc>`.
    pub svg: String,
    /// Each series with its colour, in drawing order.
    pub legend: Vec<(String, &'static str)>,
}

fn color(i: usize) -> RGBColor {
    let hex = PALETTE[i % PALETTE.len()];
    let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).unwrap_or(0);
    RGBColor(channel(1), channel(3), channel(5))
}

/// Draws `data` as a line chart, one line per series; gaps where a series has no value.
/// `id` makes the title and description ids unique on the page.
pub fn render(data: &TrendData, id: &str) -> Result<RenderedChart, ServiceError> {
    let buckets = data.window.buckets();
    let unit = data.chart.unit();
    let n = buckets.len().max(1) as i32;
    let max = data
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0_f64, |m, v| m.max(*v));
    let y_max = match unit {
        crate::trends::Unit::Percent => 100.0,
        _ if max <= 0.0 => 1.0,
        _ => max * 1.1,
    };
    // Counts get whole-number ticks: a scale of 0 to 2 is labelled 0, 1, 2, not 0, 0.5, 1 …
    let y_labels = match unit {
        crate::trends::Unit::Count => (y_max.floor() as usize + 1).clamp(2, 6),
        _ => 5,
    };
    let x_label = |i: &i32| {
        usize::try_from(*i)
            .ok()
            .and_then(|i| buckets.get(i))
            .map(|t| match data.window.bucket {
                Bucket::Hour => t.format("%m-%d %H:00").to_string(),
                Bucket::Day => t.format("%m-%d").to_string(),
            })
            .unwrap_or_default()
    };
    let y_label = |v: &f64| unit.format(*v);
    let failed = |e: String| ServiceError::Internal(format!("drawing chart {id}: {e}"));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0..(n - 1).max(1), 0.0..y_max)
            .map_err(|e| failed(e.to_string()))?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(y_labels)
            .label_style(("sans-serif", 13))
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBAColor(128, 128, 128, 0.25))
            .axis_style(RGBAColor(128, 128, 128, 0.8))
            .draw()
            .map_err(|e| failed(e.to_string()))?;
        for (i, series) in data.series.iter().enumerate() {
            let style = color(i).stroke_width(2);
            for run in runs(&series.values) {
                // A lone point between gaps has no line to show it: it gets a dot. (Dots on
                // every point would multiply the page's size for 168-point charts.)
                if let [point] = run[..] {
                    chart
                        .draw_series(std::iter::once(Circle::new(point, 3, color(i).filled())))
                        .map_err(|e| failed(e.to_string()))?;
                } else {
                    chart
                        .draw_series(LineSeries::new(run, style))
                        .map_err(|e| failed(e.to_string()))?;
                }
            }
        }
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    Ok(RenderedChart {
        svg: accessible(&svg, id, data.chart.title(), &describe(data)),
        legend: legend(data),
    })
}

/// Each series with its colour, in drawing order.
pub fn legend(data: &TrendData) -> Vec<(String, &'static str)> {
    data.series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), PALETTE[i % PALETTE.len()]))
        .collect()
}

/// The runs of consecutive values, as points: a line never bridges a bucket without data.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(i32, f64)>> {
    let mut out: Vec<Vec<(i32, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (x, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((x as i32, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// What a screen reader says instead of the picture: the period, the series and their range.
pub fn describe(data: &TrendData) -> String {
    let unit = data.chart.unit();
    let mut text = format!(
        "{} Last {}, one point per {}.",
        data.chart.description(),
        data.window.range.label(),
        data.window.bucket.as_str()
    );
    if let Some(empty) = &data.empty {
        text.push(' ');
        text.push_str(empty);
        text.push('.');
    }
    for s in &data.series {
        let values: Vec<f64> = s.values.iter().flatten().copied().collect();
        let (Some(first), Some(last)) = (values.first(), values.last()) else {
            continue;
        };
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        text.push_str(&format!(
            " {}: from {} to {}, lowest {}, highest {}.",
            s.name,
            unit.format(*first),
            unit.format(*last),
            unit.format(low),
            unit.format(high)
        ));
    }
    text
}

/// Text in the page's colours, light or dark: shown as an `<img>`, the SVG is out of reach of
/// the page's style sheet (`style/main.css`, `--text`).
const TEXT_STYLE: &str =
    "<style>text{fill:#1d2330}@media (prefers-color-scheme: dark){text{fill:#e4e7ee}}</style>";

fn accessible(svg: &str, id: &str, title: &str, desc: &str) -> String {
    let id = escape(id);
    let open = format!("<svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" ");
    let svg = svg.replacen("<svg ", &open, 1);
    match svg.find('>') {
        Some(end) => format!(
            "{}<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>{TEXT_STYLE}{}",
            &svg[..=end],
            escape(title),
            escape(desc),
            &svg[end + 1..]
        ),
        None => svg,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trends::{Series, TrendChart, TrendRange, Window};
    use chrono::TimeZone;

    fn data(series: Vec<Series>) -> TrendData {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 14, 30, 0)
            .unwrap();
        TrendData {
            chart: TrendChart::SuccessRate,
            window: Window::ending_at(TrendRange::Day, now),
            series,
            figures: Vec::new(),
            empty: None,
        }
    }

    #[test]
    fn the_svg_is_an_image_with_title_description_and_each_series() {
        let mut prod = vec![Some(99.0); 24];
        prod[10] = None;
        let staging = vec![Some(50.0); 24];
        let d = data(vec![
            Series {
                name: "prod".into(),
                values: prod,
            },
            Series {
                name: "staging & qa".into(),
                values: staging,
            },
        ]);
        let chart = render(&d, "success-rate").unwrap();
        assert!(chart.svg.starts_with(
            "<svg role=\"img\" aria-labelledby=\"success-rate-title success-rate-desc\""
        ));
        assert!(chart.svg.contains(
            "<title id=\"success-rate-title\">Verification success rate by environment</title>"
        ));
        assert!(chart.svg.contains("staging &amp; qa: from 50.0% to 50.0%"));
        // One polyline per run: prod is split by its gap, staging is whole.
        std::fs::write(std::env::temp_dir().join("tw-chart.svg"), &chart.svg).unwrap();
        let lines = |colour: &str| {
            chart
                .svg
                .lines()
                .filter(|l| l.contains("<polyline") && l.to_lowercase().contains(colour))
                .count()
        };
        assert_eq!(lines("#0072b2"), 2, "prod is split by its gap");
        assert!(!chart.svg.contains("<circle"), "no lone points here");
        assert_eq!(lines("#d55e00"), 1, "staging is whole");
        assert!(chart.svg.contains("11-25 "), "hour labels on the x axis");
        assert!(chart.svg.contains("100.0%"), "percent labels on the y axis");
        assert_eq!(
            chart.legend,
            vec![
                ("prod".into(), "#0072b2"),
                ("staging & qa".into(), "#d55e00")
            ]
        );
    }

    #[test]
    fn a_lone_point_is_drawn_as_a_dot() {
        let mut values = vec![None; 24];
        values[5] = Some(3.0);
        let chart = render(
            &data(vec![Series {
                name: "p50".into(),
                values,
            }]),
            "time-to-deploy",
        )
        .unwrap();
        assert_eq!(chart.svg.matches("<circle").count(), 1);
    }

    #[test]
    fn runs_never_bridge_a_gap() {
        assert_eq!(
            runs(&[Some(1.0), None, Some(2.0), Some(3.0), None]),
            vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]
        );
        assert!(runs(&[None, None]).is_empty());
    }
}
