//! The Rejections table as the browser gets it.

use serde::{Deserialize, Serialize};

/// The table's filters as they stand in the URL (`/rejections?cluster=…&range=7d`). Empty means
/// "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RejectionQuery {
    pub cluster: Option<String>,
    pub environment: Option<String>,
    pub namespace: Option<String>,
    pub image: Option<String>,
    pub team: Option<String>,
    pub reason: Option<String>,
    pub engine: Option<String>,
    pub outcome: Option<String>,
    /// `24h`, `7d` (the default), `30d` or `90d`.
    pub range: Option<String>,
    /// The keyset cursor of the page to show (from the previous page's `next`).
    pub after: Option<String>,
}

impl RejectionQuery {
    /// The names and values as they appear in the URL, `after` excluded, empty ones left out.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("image", &self.image),
            ("cluster", &self.cluster),
            ("environment", &self.environment),
            ("namespace", &self.namespace),
            ("team", &self.team),
            ("reason", &self.reason),
            ("engine", &self.engine),
            ("outcome", &self.outcome),
            ("range", &self.range),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (k, v.to_owned()))
        })
        .collect()
    }

    /// `/rejections?…` for these filters, starting after `after` when given.
    pub fn href(&self, after: Option<&str>) -> String {
        let mut pairs = self.pairs();
        if let Some(a) = after {
            pairs.push(("after", a.to_owned()));
        }
        if pairs.is_empty() {
            return "/rejections".to_owned();
        }
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(&v)))
            .collect();
        format!("/rejections?{}", query.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionRowView {
    pub id: String,
    pub observed: String,
    pub cluster: String,
    pub environment: String,
    pub namespace: String,
    pub workload: String,
    pub image: String,
    pub outcome: String,
    pub reason: String,
    pub engine: String,
    pub policy: Option<String>,
}

/// The choices the filter form offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RejectionFacets {
    pub clusters: Vec<String>,
    pub environments: Vec<String>,
    pub teams: Vec<String>,
    pub reasons: Vec<String>,
    pub engines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionListView {
    pub rows: Vec<RejectionRowView>,
    /// The cursor of the next (older) page, when there is one.
    pub next: Option<String>,
    /// Whether this page is the first one.
    pub first_page: bool,
    /// The image search matched more repositories than are searched at once.
    pub image_query_too_broad: bool,
    /// The time range the rows are from, in words.
    pub range_label: String,
    pub facets: RejectionFacets,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_keep_the_filters_and_encode_them() {
        let q = RejectionQuery {
            image: Some("team/app:1.2".into()),
            reason: Some("unsigned".into()),
            namespace: Some("  ".into()),
            ..Default::default()
        };
        assert_eq!(
            q.href(Some("2026-11-25T10:00:00Z_abc")),
            "/rejections?image=team%2Fapp%3A1.2&reason=unsigned&after=2026-11-25T10%3A00%3A00Z_abc"
        );
        assert_eq!(RejectionQuery::default().href(None), "/rejections");
    }
}
