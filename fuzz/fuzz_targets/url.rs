//! Database URLs with and without a separate password: parsing, redaction and scrubbing never
//! panic, and the password never survives redaction or scrubbing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use schema_exporter::secret::DatabaseUrl;

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
        let scrubbed = parsed.scrub(&format!("error near {}", parsed.expose()));
        if let Some(p) = password.filter(|p| p.len() >= 4 && !p.trim().is_empty()) {
            let p = p.trim_end_matches(['\r', '\n']);
            // A password that is also part of the URL's other text cannot be told apart there.
            if p.len() >= 4 && !url.contains(p) && !"error near".contains(p) {
                assert!(!redacted.contains(p), "redacted URL shows the password");
                assert!(!scrubbed.contains(p), "scrubbed text shows the password");
            }
        }
    }
});
