//! The SQL expectation loader in each dialect: the first byte picks the engine, the rest is a file
//! of statements.
#![no_main]
use libfuzzer_sys::fuzz_target;
use schema_exporter::dialect::Engine;
use schema_exporter::expected::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let engine = match first % 3 {
        0 => Engine::Postgres,
        1 => Engine::MySql,
        _ => Engine::Sqlite,
    };
    let files = [SourceFile {
        path: "fuzz.sql".into(),
        text: text.to_string(),
    }];
    let _ = schema_exporter::expected::sql::parse(&files, engine, &["public".to_string()]);
});
