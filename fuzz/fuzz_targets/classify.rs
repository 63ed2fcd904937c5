//! The message classifier must never panic, whatever text an engine (or an attacker) sends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = domain::classify::classify(&text);
    // Whatever it extracts must come from the text.
    if let Some(digest) = &c.digest {
        assert!(text.contains(digest.as_str()));
    }
});
