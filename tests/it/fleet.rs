//! Many databases from one process: what a fleet costs in threads and file descriptors, and that
//! the HTTP endpoints stay reachable whatever the number of databases.

use crate::common::*;

/// `count` SQLite databases, copies of one file holding `export_logs`, with the expectation that
/// matches it; returns the config's path.
fn sqlite_fleet(dir: &std::path::Path, count: usize, head: &str) -> String {
    let first = dir.join("db0.sqlite");
    block_on(sqlite_exec(
        &first,
        "CREATE TABLE export_logs (id INTEGER PRIMARY KEY, file_size BIGINT)",
    ));
    write(
        dir,
        "e.yaml",
        "tables:\n  export_logs:\n    columns:\n      id: integer\n      file_size: bigint\n",
    );
    let mut config = format!("{head}databases:\n");
    for i in 0..count {
        let path = dir.join(format!("db{i}.sqlite"));
        if i > 0 {
            std::fs::copy(&first, &path).unwrap();
        }
        config.push_str(&format!(
            "  - name: db{i}\n    url: sqlite://{}\n    expected: {{file: e.yaml}}\n",
            path.display()
        ));
    }
    write(dir, "c.yaml", &config)
}

/// 300 databases under a limit of 128 open files (soft and hard): no connection is held between
/// checks, so descriptors are bounded by the concurrent checks, every database is checked, and
/// the listener never runs out of descriptors. Keeping a connection per database (as before)
/// needs more descriptors than the limit allows: checks fail and accepts fail.
#[test]
fn more_databases_than_open_files_are_all_checked_and_http_stays_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let count = 300;
    let config = sqlite_fleet(dir.path(), count, "interval: 1m\ntimeout: 10s\n");
    let daemon =
        Daemon::start_with_open_files(&["serve", &format!("--config.file={config}")], 128, 128);
    wait_for(WAIT, "/-/ready", || {
        (daemon.get("/-/ready").0 == 200).then_some(())
    });
    let metrics = daemon.get("/metrics").1;
    for i in 0..count {
        let success = sample(
            &metrics,
            &format!("schema_check_success{{database=\"db{i}\"}}"),
        );
        assert_eq!(
            success,
            Some(1.0),
            "db{i} was not checked; logs:\n{}",
            daemon.logs.lock().unwrap()
        );
    }
    assert_eq!(
        sample(&metrics, "schema_in_sync{database=\"db299\"}"),
        Some(1.0)
    );
    for _ in 0..20 {
        assert_eq!(daemon.get("/-/healthy").0, 200);
    }
    let logs = daemon.logs.lock().unwrap().clone();
    assert!(!logs.contains("accept failed"), "{logs}");
    assert!(!logs.contains("Too many open files"), "{logs}");
}

/// The soft limit on open files is raised to the hard one at start, as Prometheus does.
#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = sqlite_fleet(dir.path(), 1, "");
    let mut daemon =
        Daemon::start_with_open_files(&["serve", &format!("--config.file={config}")], 64, 4096);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[3..5], &["4096", "4096"], "{line}");
}
