//! The expected-schema YAML reader on every engine.
#![no_main]
use libfuzzer_sys::fuzz_target;
use schema_exporter::dialect::Engine;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for engine in [Engine::Postgres, Engine::MySql, Engine::Sqlite] {
        let _ = schema_exporter::expected::file::parse(
            text,
            Path::new("fuzz.yaml"),
            engine,
            &["public".to_string(), "other".to_string()],
        );
    }
});
