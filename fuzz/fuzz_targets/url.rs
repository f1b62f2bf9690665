//! Database URLs with and without a separate password: parsing, redaction and scrubbing never
//! panic, and the password never survives redaction or scrubbing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use schema_exporter::secret::{DatabaseUrl, REDACTED};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, password) = match text.split_once('\n') {
        Some((u, p)) => (u, Some(p.to_string())),
        None => (text, None),
    };
    if let Ok(parsed) = DatabaseUrl::new(url, password.clone()) {
        let redacted = parsed.redacted().to_string();
        // What a driver error looks like: the URL, or the password on its own, inside a message.
        let scrubbed = parsed.scrub(&format!("error near {} for [{}]", parsed.expose(), password.as_deref().unwrap_or("")));
        if let Some(p) = password.as_deref() {
            // A password that is also other text of the URL or of the message cannot be told
            // apart there; any other must be gone from both.
            let message = "error near  for []";
            let distinct = p.len() >= 4
                && !url.contains(p)
                && !p.contains(url)
                && !message.contains(p)
                && !p.contains(REDACTED)
                && !REDACTED.contains(p);
            if distinct {
                assert!(!redacted.contains(p), "redacted URL shows the password");
                assert!(!scrubbed.contains(p), "scrubbed text shows the password");
            }
        }
    }
});
