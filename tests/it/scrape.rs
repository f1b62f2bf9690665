//! The scrape path: bodies rendered once per change and served as prepared (identity or gzip),
//! and HTTP that answers at once whatever a check is doing.

use crate::common::{self, get_raw, sample, wait_for, write, Daemon, WAIT};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

#[test]
fn gzip_is_served_when_asked_and_is_the_identity_body_compressed() {
    let daemon = Daemon::demo();
    for path in ["/metrics", "/drift", "/drift?database=demo", "/"] {
        let url = format!("{}{path}", daemon.base);
        let (status, plain_headers, plain) = get_raw(&url, &[]);
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&plain_headers, "content-encoding"), None, "{path}");
        let (status, headers, zipped) =
            get_raw(&url, &[("Accept-Encoding", "gzip, deflate;q=0.5")]);
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-encoding"), Some("gzip"), "{path}");
        // /drift answers HTML or JSON by Accept as well.
        let vary = if path.starts_with("/drift") {
            "Accept, Accept-Encoding"
        } else {
            "Accept-Encoding"
        };
        assert_eq!(header(&headers, "vary"), Some(vary), "{path}");
        assert!(zipped.len() < plain.len(), "{path}: gzip is not smaller");
        assert_eq!(gunzip(&zipped), plain, "{path}");
        // Refused by name: identity, whatever the wildcard says.
        let (_, headers, body) = get_raw(&url, &[("Accept-Encoding", "gzip;q=0, *")]);
        assert_eq!(header(&headers, "content-encoding"), None, "{path}");
        assert_eq!(body, plain, "{path}");
    }
    let metrics = String::from_utf8(get_raw(&format!("{}/metrics", daemon.base), &[]).2).unwrap();
    assert!(metrics.contains(common::DEMO_MISSING), "{metrics}");
}

#[test]
fn drift_can_be_asked_for_one_database_and_an_unknown_one_is_404() {
    let daemon = Daemon::demo();
    let (status, body) = daemon.get("/drift?database=demo");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let databases = doc["databases"].as_array().unwrap();
    assert_eq!(databases.len(), 1);
    assert_eq!(databases[0]["name"], "demo");
    assert_eq!(databases[0]["drift"][0]["column"], "file_size");
    let (status, body) = daemon.get("/drift?database=nope");
    assert_eq!(status, 404);
    assert!(body.contains("no database named \\\"nope\\\""), "{body}");
}

/// The renders counter and the bytes: scrapes in a row between two changes serve one render.
#[test]
fn scrapes_serve_the_last_render_and_only_a_change_renders_again() {
    let dir = tempfile::tempdir().unwrap();
    common::block_on(common::sqlite_exec(
        &dir.path().join("a.db"),
        "CREATE TABLE t (id integer);",
    ));
    let cfg = common::config_with_expected(
        dir.path(),
        "a",
        "sqlite:a.db",
        "tables:\n  t:\n    columns:\n      id: integer\n      gone: text\n",
        "interval: 1h\ntimeout: 5s\n",
        "",
    );
    let daemon = Daemon::serve(&cfg);
    let missing = r#"schema_missing_columns{database="a",schema="main",table="t"}"#;
    daemon.wait_sample(missing, 1.0);
    let url = format!("{}/metrics", daemon.base);
    let first = get_raw(&url, &[]).2;
    let renders = |body: &[u8]| {
        sample(
            std::str::from_utf8(body).unwrap(),
            "schema_exporter_renders_total",
        )
    };
    let before = renders(&first).expect("the renders counter is exported");
    for _ in 0..20 {
        assert_eq!(
            get_raw(&url, &[]).2,
            first,
            "a scrape without a change served other bytes"
        );
    }
    // A reload is a change (and restarts the poller, whose first check is another): renders
    // follow, and once they are done the new bytes are served unchanged again.
    assert_eq!(daemon.post("/-/reload").0, 200);
    daemon.wait_sample(r#"schema_checks_total{database="a"}"#, 2.0);
    let settled = wait_for(WAIT, "the renders after the reload", || {
        let body = get_raw(&url, &[]).2;
        let again = get_raw(&url, &[]).2;
        (body == again).then_some(body)
    });
    let after = renders(&settled).unwrap();
    assert!(after > before, "{after} > {before}");
    for _ in 0..20 {
        assert_eq!(get_raw(&url, &[]).2, settled);
    }
    assert_eq!(
        sample(std::str::from_utf8(&settled).unwrap(), missing),
        Some(1.0)
    );
}

/// 20,000 tables of DDL: about two seconds of parsing in a debug build, on purpose.
fn slow_expectation(dir: &Path) -> String {
    let mut sql = String::new();
    for i in 0..20_000 {
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id bigint NOT NULL, name varchar(255), created_at timestamptz DEFAULT now(), note text);\n"
        ));
    }
    write(dir, "schema.sql", &sql);
    common::block_on(common::sqlite_exec(
        &dir.join("a.db"),
        "CREATE TABLE t0 (id bigint);",
    ));
    "  - name: a\n    url: sqlite:a.db\n    expected: {sql: [schema.sql]}\n".to_string()
}

/// With one async worker, a parse on it would stall every request until it finished; health
/// answers in milliseconds instead, because parsing runs on the blocking pool.
#[test]
fn health_answers_at_once_while_a_slow_expectation_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let database = slow_expectation(dir.path());
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("interval: 1h\ntimeout: 5m\ndatabases:\n{database}"),
    );
    let daemon = Daemon::serve_on(&cfg, 1);
    let started = Instant::now();
    let timed = |path: &str| {
        let asked = Instant::now();
        let status = daemon.get(path).0;
        (status, asked.elapsed())
    };
    let (mut requests, mut slowest) = (0, Duration::ZERO);
    loop {
        assert!(
            started.elapsed() < WAIT * 4,
            "the first check never finished"
        );
        let (health, took) = timed("/-/healthy");
        assert_eq!(health, 200);
        let (ready, took_ready) = timed("/-/ready");
        slowest = slowest.max(took).max(took_ready);
        requests += 2;
        if ready == 200 {
            break;
        }
    }
    let parsing = daemon
        .sample(r#"schema_check_duration_seconds{database="a"}"#)
        .unwrap();
    // The requests spanned the whole first check, which was long: they overlapped the parse.
    assert!(
        parsing > 0.5,
        "the parse took only {parsing}s: too fast to show anything"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "a request took {slowest:?} while the expectation was parsed ({requests} requests, check {parsing}s)"
    );
}

/// The check's timeout holds even when what overruns is our own parsing.
#[test]
fn a_check_that_overruns_in_parsing_times_out_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let database = slow_expectation(dir.path());
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("interval: 1h\ntimeout: 300ms\ndatabases:\n{database}"),
    );
    let daemon = Daemon::serve(&cfg);
    daemon.wait_sample(r#"schema_check_success{database="a"}"#, 0.0);
    let took = daemon
        .sample(r#"schema_check_duration_seconds{database="a"}"#)
        .unwrap();
    assert!(took < 0.8, "a 300ms timeout was reported after {took}s");
    let (_, drift) = daemon.get("/drift?database=a");
    assert!(drift.contains("check timed out after 300ms"), "{drift}");
}

/// SIGTERM mid-parse: the binary exits promptly instead of waiting for the parse.
#[test]
fn sigterm_exits_within_a_second_even_mid_parse() {
    let dir = tempfile::tempdir().unwrap();
    let database = slow_expectation(dir.path());
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("interval: 1h\ntimeout: 5m\ndatabases:\n{database}"),
    );
    let mut daemon = Daemon::start(&["--config.file", &cfg]);
    // Not ready yet: the first check is still parsing.
    assert_eq!(daemon.get("/-/ready").0, 503);
    let asked = Instant::now();
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().code(), Some(0));
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
}

/// In-sync tables cost one series by default and none with `table_series: drifted`; drifted
/// tables read the same either way.
#[test]
fn an_in_sync_table_costs_one_series_or_none_with_table_series_drifted() {
    let dir = tempfile::tempdir().unwrap();
    common::block_on(common::sqlite_exec(
        &dir.path().join("a.db"),
        "CREATE TABLE fine (id integer); CREATE TABLE broken (id integer, extra text);",
    ));
    let expected = "tables:\n  fine:\n    columns:\n      id: integer\n  broken:\n    columns:\n      id: integer\n      gone: text\n";
    let series = |metrics: &str, table: &str| -> Vec<String> {
        let needle = format!("table=\"{table}\"");
        let mut found: Vec<String> = metrics
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(&needle))
            .map(|l| l.split('{').next().unwrap().to_string())
            .collect();
        found.sort();
        found
    };
    for (setting, fine) in [("all", vec!["schema_missing_columns"]), ("drifted", vec![])] {
        let top = format!("table_series: {setting}\n");
        let cfg = common::config_with_expected(dir.path(), "a", "sqlite:a.db", expected, &top, "");
        let daemon = Daemon::serve(&cfg);
        daemon.wait_sample(
            r#"schema_missing_columns{database="a",schema="main",table="broken"}"#,
            1.0,
        );
        let (_, metrics) = daemon.get("/metrics");
        assert_eq!(series(&metrics, "fine"), fine, "{setting}:\n{metrics}");
        assert_eq!(
            series(&metrics, "broken"),
            [
                "schema_column_drift",
                "schema_column_drift",
                "schema_missing_columns",
                "schema_unexpected_columns"
            ],
            "{setting}:\n{metrics}"
        );
    }
}
