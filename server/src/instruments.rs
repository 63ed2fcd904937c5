//! Measurements this process takes of its own work, for `/metrics`: how long ingest batches and
//! admission reviews take, and how many events were new or resent. They are process-local (each
//! replica counts its own since it started; Prometheus sums replicas and handles restarts of
//! counters), unlike the admission counts, which come from the database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

/// A Prometheus histogram of durations, lock-free.
pub struct Histogram {
    /// Upper bounds in seconds, ascending.
    bounds: &'static [f64],
    /// Observations per bound (not cumulative), then those above the last bound.
    counts: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let seconds = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is empty or `name="value",…`.
    pub fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            out.push_str(&format!(
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}\n"
            ));
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        out.push_str(&format!(
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}\n"
        ));
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        out.push_str(&format!("{name}_sum{braces} {sum}\n"));
        out.push_str(&format!("{name}_count{braces} {cumulative}\n"));
    }
}

/// What kind of events an ingest batch carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestKind {
    Verification,
    Signing,
}

impl IngestKind {
    pub const ALL: [IngestKind; 2] = [IngestKind::Verification, IngestKind::Signing];

    pub fn as_str(self) -> &'static str {
        match self {
            IngestKind::Verification => "verification",
            IngestKind::Signing => "signing",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

const INGEST_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const ADMISSION_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Ingestion {
    pub batch_seconds: [Histogram; 2],
    pub accepted: [AtomicU64; 2],
    pub duplicates: [AtomicU64; 2],
}

impl Ingestion {
    /// One stored batch: how long storing it took and what it held.
    pub fn record(&self, kind: IngestKind, took: Duration, report: &service::ingest::IngestReport) {
        let i = kind.index();
        self.batch_seconds[i].observe(took);
        self.accepted[i].fetch_add(report.accepted, Ordering::Relaxed);
        self.duplicates[i].fetch_add(report.duplicates, Ordering::Relaxed);
    }
}

pub static INGESTION: LazyLock<Ingestion> = LazyLock::new(|| Ingestion {
    batch_seconds: [Histogram::new(INGEST_BOUNDS), Histogram::new(INGEST_BOUNDS)],
    accepted: [AtomicU64::new(0), AtomicU64::new(0)],
    duplicates: [AtomicU64::new(0), AtomicU64::new(0)],
});

/// Handling time of each `POST /k8s/admission`, from the request to the answer.
pub static ADMISSION_REVIEW: LazyLock<Histogram> =
    LazyLock::new(|| Histogram::new(ADMISSION_BOUNDS));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_everything() {
        let h = Histogram::new(&[0.01, 0.1]);
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(1));
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "kind=\"a\"");
        assert_eq!(
            out,
            "x_seconds_bucket{kind=\"a\",le=\"0.01\"} 1\n\
             x_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n\
             x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 3\n\
             x_seconds_sum{kind=\"a\"} 1.055\n\
             x_seconds_count{kind=\"a\"} 3\n"
        );
    }
}
