//! `schema_exporter demo`: the export_logs incident on a throwaway SQLite database, served exactly
//! like `serve` would, with no setup.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use std::future::Future;
use std::path::Path;
use tokio::net::TcpListener;

use crate::app;

/// The expectation the demo checks against, compiled in so the demo runs from any folder.
pub const EXPECTED: &str = include_str!("../config/demo/expected.yaml");

/// The live tables as a Django deploy left them: migration 0001 recorded as applied, but the table
/// was created by an older revision that had no `file_size`.
pub const LIVE_SCHEMA: &str = r#"
CREATE TABLE export_logs (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id varchar(255),
    export_type varchar(50),
    export_format varchar(20) DEFAULT 'csv',
    record_count integer,
    filters_applied text DEFAULT '{}',
    filename varchar(500),
    created_at datetime DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE contacts (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    email varchar(254) NOT NULL,
    name varchar(200)
);
INSERT INTO contacts (email, name) VALUES ('ada@example.com', 'Ada');
"#;

const CONFIG: &str = "# Written by schema_exporter demo.\ninterval: 15s\ntimeout: 5s\ndatabases:\n  - name: demo\n    url: sqlite:demo.db\n    expected:\n      file: expected.yaml\n";

/// Writes the demo database, expectation and config into `dir`; returns the config path.
pub async fn prepare(dir: &Path) -> Result<std::path::PathBuf, String> {
    let db = dir.join("demo.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true)
        .connect()
        .await
        .map_err(|e| format!("cannot create {}: {e}", db.display()))?;
    conn.execute(LIVE_SCHEMA)
        .await
        .map_err(|e| format!("cannot create the demo tables: {e}"))?;
    conn.close().await.map_err(|e| e.to_string())?;
    write_expected_as_of_yesterday(&dir.join("expected.yaml"))?;
    let config = dir.join("schema_exporter.yaml");
    std::fs::write(&config, CONFIG).map_err(|e| e.to_string())?;
    Ok(config)
}

/// Writes the expectation dated a day back: in the incident the migration shipped with an earlier
/// deploy, so the drift is long past any deploy grace window and the bundled alerts fire at once.
fn write_expected_as_of_yesterday(path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    std::fs::write(path, EXPECTED).map_err(fail)?;
    let yesterday = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(yesterday))
        .map_err(fail)
}

/// Runs the demo on `listener` until `shutdown` resolves; the temp dir is removed afterwards.
pub async fn run(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), app::Error> {
    let dir = tempfile::Builder::new()
        .prefix("schema_exporter-demo-")
        .tempdir()
        .map_err(|source| app::Error::Io {
            what: "cannot create a temporary directory".into(),
            source,
        })?;
    let config = prepare(dir.path()).await.map_err(app::Error::Failed)?;
    let config = crate::config::load(&config)?;
    tracing::info!(dir = %dir.path().display(), "demo database created: export_logs lacks file_size; see /metrics and /drift on the address below");
    app::serve(config, listener, shutdown, app::ServeOptions::default()).await
}
