//! The on-call page in a real browser: headless Chromium loads `/drift` from the daemon, and the
//! test reads what a person sees there (the drifted column, its SQL, the destructive marker, a
//! hostile table name shown as text) and takes the screenshot README shows.

use crate::common::{self, require_tool, wait_for, write, Daemon, WAIT};
use crate::monitoring::host;
use std::path::Path;
use std::process::Command;

/// Runs headless Chromium with `args` and `url`: its stdout.
fn chromium(program: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new(program)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_on_call_page_shows_the_drift_and_its_sql_in_a_browser() {
    let Some(browser) = require_tool(
        &["chromium", "chromium-browser"],
        "Debian package `chromium`",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    common::block_on(common::sqlite_exec(
        &dir.path().join("app.sqlite"),
        "CREATE TABLE export_logs (id integer NOT NULL, legacy text);
         CREATE TABLE \"<img src=x onerror=alert(1)>\" (a int);",
    ));
    write(
        dir.path(),
        "e.yaml",
        "tables:\n  export_logs:\n    columns:\n      id: {type: integer, nullable: false}\n      file_size: {type: bigint, nullable: true}\n",
    );
    let cfg = write(
        dir.path(),
        "c.yaml",
        "databases:\n  - name: app\n    url: sqlite:app.sqlite\n    expected: {file: e.yaml}\n",
    );
    let daemon = Daemon::serve(&cfg);
    wait_for(WAIT, "the first check", || {
        (daemon.get("/-/ready").0 == 200).then_some(())
    });
    // Tools still get JSON from the same URL.
    let (code, json) = daemon.get("/drift");
    assert_eq!(code, 200);
    assert!(json.starts_with("{\"databases\""), "{json}");

    let url = format!("http://{}/drift?database=app", host(&daemon));
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(&browser, profile.path(), &["--dump-dom"], &url);
    common::assert_contains_all(
        &dom,
        &[
            "Schema drift",
            "missing column",
            "main.export_logs.file_size",
            "ALTER TABLE \"main\".\"export_logs\" ADD COLUMN \"file_size\" bigint NULL;",
            "destructive: review before running",
            "All non-destructive SQL for app",
        ],
    );
    // The hostile table name is text on the page, never an element.
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    // The copy-all block holds the safe statements only.
    let all = dom.split("class=\"all\"").nth(1).unwrap();
    let all = &all[..all.find("</pre>").unwrap()];
    assert!(all.contains("ADD COLUMN"), "{all}");
    assert!(
        !all.contains("DROP"),
        "destructive SQL stays out of copy-all: {all}"
    );

    // A phone-sized screenshot; UPDATE_SCREENSHOT=1 keeps it for README.
    let shot = dir.path().join("drift-page.png");
    chromium(
        &browser,
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=430,1200",
        ],
        &url,
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/drift-page.png");
        std::fs::write(keep, png).unwrap();
    }
}
