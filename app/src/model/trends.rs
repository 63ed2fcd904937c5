//! The Trends page's views: each chart's image address (`/trends/<slug>.svg`, drawn on the server
//! when the browser asks for it), its text alternative, legend, headline figures and the table of
//! the numbers it is drawn from. The SVG itself stays out of the page and its hydration data.

use serde::{Deserialize, Serialize};

/// The ranges offered, as they appear in the URL (`?range=7d`) and on the selector.
pub const TREND_RANGES: [(&str, &str); 4] = [
    ("24h", "24 h"),
    ("7d", "7 d"),
    ("30d", "30 d"),
    ("90d", "90 d"),
];

/// The size `service::charts` draws at, so the page keeps each image's room before it loads.
pub const CHART_WIDTH: u32 = 720;
pub const CHART_HEIGHT: u32 = 260;

/// The range shown when the URL names none.
pub const DEFAULT_TREND_RANGE: &str = "7d";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendsView {
    pub range: String,
    pub range_label: String,
    pub bucket: String,
    pub from: String,
    pub to: String,
    pub charts: Vec<TrendChartView>,
    /// Mean incident response times per calendar quarter, real incidents and drills apart,
    /// newest quarter first: quarter, "incidents" or "drills", count, contain, propagate, recover.
    pub quarters: Vec<QuarterResponseView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterResponseView {
    pub quarter: String,
    pub drill: bool,
    pub incidents: i64,
    pub to_contain: String,
    pub to_propagate: String,
    pub to_recover: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendChartView {
    /// Also the CSV file's name: `/trends/<slug>.csv`.
    pub slug: String,
    pub title: String,
    pub description: String,
    /// What the chart shows, in words: the image's `alt`.
    pub alt: String,
    /// Series name and colour, in drawing order.
    pub legend: Vec<(String, String)>,
    /// Headline numbers over the range, formatted.
    pub figures: Vec<(String, String)>,
    /// Why there is nothing to chart ("no incidents in this range"), instead of a line of zeros.
    pub empty: Option<String>,
    /// The data table: a column per series; a row per bucket (label, formatted values).
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<String>)>,
}
