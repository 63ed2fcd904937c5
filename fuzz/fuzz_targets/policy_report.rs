//! The PolicyReport adapter must never panic on any JSON document, and every event it yields
//! must either validate or be refused with a named field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_764_072_000, 0).unwrap_or_default();
    if let Ok(report) = domain::policy_report::events_from_reports(&doc, "fuzz-1", now) {
        for event in &report.events {
            if let Err(e) = event.validate(now, None) {
                assert!(!e.field.is_empty());
            }
        }
    }
});
