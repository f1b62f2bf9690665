//! The commands: wiring of config, pollers, snapshot and HTTP. `main.rs` only parses and dispatches.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::check::{pool_for, run_check, CheckError, CheckOutcome};
use crate::cli::{CheckArgs, Output, SnapshotArgs};
use crate::config::{self, Config, DatabaseConfig, DEFAULT_TIMEOUT};
use crate::dialect::Engine;
use crate::engine::{Pool, SessionLimits};
use crate::expected;
use crate::http::{self, HttpContext, ReloadRequest};
use crate::poller::Pollers;
use crate::report;
use crate::secret::DatabaseUrl;
use crate::snapshot::Snapshot;

/// Exit code: could not check / invalid input.
pub const EXIT_ERROR: u8 = 2;
/// Exit code of `check` when drift was found.
pub const EXIT_DRIFT: u8 = 1;

/// Turns a Prometheus-style `:9713` into an address tokio can bind.
fn bind_address(listen: &str) -> String {
    match listen.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => listen.to_string(),
    }
}

/// Runs the daemon until SIGTERM or Ctrl-C. Config errors at start are fatal (exit 2); later,
/// an invalid config on reload is refused and the running one stays.
pub async fn serve(config_path: &Path, listen: &str, lifecycle: bool) -> ExitCode {
    let config = match config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let listener = match TcpListener::bind(bind_address(listen)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let (mut hangup, mut terminate) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(h), Ok(t)) => (h, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cannot install signal handlers: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| listen.to_string());
    tracing::info!(address = %address, version = env!("CARGO_PKG_VERSION"), databases = config.databases.len(), "listening");

    let snapshot = Arc::new(Snapshot::new(&config));
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (stop_http, http_stopped) = watch::channel(false);
    let ctx = HttpContext {
        snapshot: snapshot.clone(),
        reload: lifecycle.then(|| reload_tx.clone()),
    };
    let server = tokio::spawn(http::serve(listener, ctx, http_stopped));
    let mut running = Running {
        pollers: Some(Pollers::start(&config, snapshot.clone())),
        config,
        snapshot,
    };
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                let _ = running.reload().await;
            }
            Some(answer) = reload_rx.recv() => {
                let result = running.reload().await;
                let _ = answer.send(result);
            }
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("shutting down");
    let _ = stop_http.send(true);
    if let Some(p) = running.pollers.take() {
        p.stop().await;
    }
    let _ = server.await;
    drop(reload_tx);
    ExitCode::SUCCESS
}

/// The daemon's current generation of config and pollers.
struct Running {
    pollers: Option<Pollers>,
    config: Config,
    snapshot: Arc<Snapshot>,
}

impl Running {
    /// Re-reads the config file. A valid one replaces the pollers; an invalid one is refused and
    /// everything keeps running as before.
    async fn reload(&mut self) -> Result<(), String> {
        match config::load(&self.config.path) {
            Err(e) => {
                tracing::error!(error = %e, "reload refused; keeping the running configuration");
                self.snapshot.set_reload_ok(false);
                Err(e.to_string())
            }
            Ok(new) => {
                if let Some(p) = self.pollers.take() {
                    p.stop().await;
                }
                self.snapshot.apply_config(&new);
                self.pollers = Some(Pollers::start(&new, self.snapshot.clone()));
                self.config = new;
                self.snapshot.set_reload_ok(true);
                tracing::info!(
                    databases = self.config.databases.len(),
                    "configuration reloaded"
                );
                Ok(())
            }
        }
    }
}

/// `check`: one check of each (or one) configured database. Exit 0 in sync, 1 drift, 2 when any
/// database could not be checked (a database we cannot vouch for outranks drift elsewhere).
pub async fn check(args: &CheckArgs) -> ExitCode {
    let mut config = match config::load(&args.config_file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if let Some(name) = &args.database {
        config.databases.retain(|d| &d.name == name);
        if config.databases.is_empty() {
            eprintln!("{}: no database named {name:?}", args.config_file.display());
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let snapshot = Snapshot::new(&config);
    // The same global cap as the daemon's pollers: `check` must not stampede a fleet either.
    let limiter = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_checks));
    let mut checks = tokio::task::JoinSet::new();
    for db in config.databases.iter().cloned() {
        let limiter = limiter.clone();
        checks.spawn(async move {
            let _permit = limiter.acquire_owned().await;
            let outcome = check_once(&db).await;
            (db.name, outcome)
        });
    }
    while let Some(joined) = checks.join_next().await {
        if let Ok((name, outcome)) = joined {
            snapshot.record(&name, outcome);
        }
    }
    let state = snapshot.read();
    let doc = report::document(&state);
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("the drift document always serialises")
        ),
        Output::Text => print!("{}", report::text(&doc)),
    }
    if doc
        .databases
        .iter()
        .any(|d| d.status == report::Status::CheckFailed)
    {
        ExitCode::from(EXIT_ERROR)
    } else if doc.databases.iter().any(|d| !d.drift.is_empty()) {
        ExitCode::from(EXIT_DRIFT)
    } else {
        ExitCode::SUCCESS
    }
}

/// One check with a pool of its own, closed afterwards.
async fn check_once(db: &DatabaseConfig) -> CheckOutcome {
    match pool_for(db) {
        Ok(pool) => {
            let outcome = run_check(db, &pool, &mut expected::ExpectedCache::default()).await;
            pool.close().await;
            outcome
        }
        Err(e) => CheckOutcome::failed(CheckError::Options(e)),
    }
}

/// `snapshot`: the live schema as an expected-schema file.
pub async fn snapshot(args: &SnapshotArgs) -> ExitCode {
    let (engine, url, mut schemas, timeout, origin) = if let Some(raw) = &args.database_url {
        let engine = match Engine::from_url(raw) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("--database-url: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let url = match DatabaseUrl::new(raw, None) {
            Ok(u) => u,
            Err(e) => {
                eprintln!("--database-url: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let origin = url.redacted().to_string();
        let schemas = engine.default_schemas(url.expose());
        (engine, url, schemas, DEFAULT_TIMEOUT, origin)
    } else {
        let (Some(path), Some(name)) = (&args.config_file, &args.database) else {
            eprintln!("snapshot needs --database-url, or --config.file with --database");
            return ExitCode::from(EXIT_ERROR);
        };
        let config = match config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let Some(db) = config.databases.into_iter().find(|d| &d.name == name) else {
            eprintln!("{}: no database named {name:?}", path.display());
            return ExitCode::from(EXIT_ERROR);
        };
        if args.expected {
            return snapshot_expected(&db, args.output.as_deref()).await;
        }
        let origin = format!("database {:?} of {}", db.name, path.display());
        (db.engine, db.url, db.schemas, db.timeout, origin)
    };
    if !args.schema.is_empty() {
        schemas = args.schema.clone();
    }
    if schemas.is_empty() {
        eprintln!("{origin}: name the database in the URL or pass --schema");
        return ExitCode::from(EXIT_ERROR);
    }
    let limits = SessionLimits::for_check(timeout);
    let live = async {
        let pool = Pool::connect_lazy(engine, &url, limits)?;
        let live = pool.introspect(&schemas).await;
        pool.close().await;
        live
    };
    let live = match tokio::time::timeout(timeout, live).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            eprintln!(
                "cannot read the schema of {origin}: {}",
                url.scrub(&e.to_string())
            );
            return ExitCode::from(EXIT_ERROR);
        }
        Err(_) => {
            eprintln!(
                "cannot read the schema of {origin}: timed out after {}",
                humantime::format_duration(timeout)
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let text = format!(
        "# Expected schema written by schema_exporter {} snapshot from {origin} ({}).\n# Schemas: {}. Unqualified tables belong to {}.\n{}",
        env!("CARGO_PKG_VERSION"),
        engine.name(),
        schemas.join(", "),
        schemas[0],
        expected::render_file(&live, &schemas[0])
    );
    write_output(args.output.as_deref(), &text)
}

/// `snapshot --expected`: the expectation as the exporter resolved it (after reading its YAML, SQL
/// files or reference database), in the expected-schema format, so a surprise can be diagnosed.
async fn snapshot_expected(db: &config::DatabaseConfig, output: Option<&Path>) -> ExitCode {
    let mut cache = expected::ExpectedCache::default();
    let load = db.expected.load(db.engine, &db.schemas, &mut cache);
    let expectation = match tokio::time::timeout(db.timeout, load).await {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => {
            eprintln!("database {:?}: {e}", db.name);
            return ExitCode::from(EXIT_ERROR);
        }
        Err(_) => {
            eprintln!(
                "database {:?}: loading the expectation timed out after {}",
                db.name,
                humantime::format_duration(db.timeout)
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let default_schema = db.schemas.first().map_or("public", String::as_str);
    let text = format!(
        "# Expectation of database {:?} as schema_exporter {} resolved it from {} ({}).\n# Unqualified tables belong to {default_schema}.\n{}",
        db.name,
        env!("CARGO_PKG_VERSION"),
        db.expected.describe(),
        db.engine.name(),
        expected::render_file(&expectation.schema, default_schema)
    );
    write_output(output, &text)
}

fn write_output(output: Option<&Path>, text: &str) -> ExitCode {
    match output {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    ExitCode::SUCCESS
}

/// `validate`: the config and every expectation; every problem is listed.
pub async fn validate(config_file: &Path) -> ExitCode {
    let config = match config::load(config_file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut problems = Vec::new();
    for db in &config.databases {
        // A reference is another database's live schema: validate stays offline and only checks
        // that the name resolves (the config loader did).
        if matches!(db.expected, expected::ExpectedSource::Reference(_)) {
            continue;
        }
        if let Err(e) = db
            .expected
            .load(
                db.engine,
                &db.schemas,
                &mut expected::ExpectedCache::default(),
            )
            .await
        {
            problems.push(format!("database {:?}: {e}", db.name));
        }
    }
    if problems.is_empty() {
        println!(
            "{}: configuration and {} expected schema(s) are valid",
            config_file.display(),
            config.databases.len()
        );
        ExitCode::SUCCESS
    } else {
        for p in problems {
            eprintln!("{p}");
        }
        ExitCode::from(EXIT_ERROR)
    }
}
