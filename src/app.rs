//! The commands: wiring of config, pollers, snapshot and HTTP. Each returns a `Result` with one
//! error type, [`enum@Error`]; `main.rs` parses, prints the error once and picks the exit code.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::check::{pool_for, run_check, CheckError, CheckOutcome};
use crate::cli::{CheckArgs, Output, SnapshotArgs};
use crate::config::{self, Config, ConfigError, DatabaseConfig, DEFAULT_TIMEOUT};
use crate::dialect::Engine;
use crate::engine::{Pool, SessionLimits};
use crate::expected;
use crate::http::{self, HttpContext, ReloadRequest};
use crate::poller::{CheckSlots, Pollers};
use crate::report;
use crate::secret::DatabaseUrl;
use crate::shard::{Fleet, Shard};
use crate::snapshot::Snapshot;
use crate::state::State;

/// Exit code: could not check / invalid input.
pub const EXIT_ERROR: u8 = 2;
/// Exit code of `check` when drift was found.
pub const EXIT_DRIFT: u8 = 1;

/// Why a command could not do its job. Every message names what it is about (the file, the flag, the
/// database) and never a password.
#[derive(Debug, Error)]
pub enum Error {
    /// The configuration file is missing or invalid (every problem listed).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Flags that do not make a command (`snapshot` without a database, say).
    #[error("{0}")]
    Usage(String),
    /// `--config.file` has no database of that name.
    #[error("{config}: no database named {name:?}")]
    NoSuchDatabase {
        /// The configuration file, as given.
        config: String,
        /// The name asked for.
        name: String,
    },
    /// An I/O step of the command failed: binding the listener, a signal handler, writing output.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (`cannot listen on :9713`).
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A step that needs a database, an expectation or the demo's files could not be done; the
    /// message names which.
    #[error("{0}")]
    Failed(String),
    /// `validate` found problems; one line each.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl Error {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// Turns a Prometheus-style `:9713` into an address tokio can bind.
fn bind_address(listen: &str) -> String {
    match listen.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => listen.to_string(),
    }
}

/// Binds `--web.listen-address`.
pub async fn bind(listen: &str) -> Result<TcpListener, Error> {
    TcpListener::bind(bind_address(listen))
        .await
        .map_err(Error::io(format!("cannot listen on {listen}")))
}

/// Raises the soft limit on open files to the hard limit, as Prometheus does: the soft default
/// (often 1,024) is a historical guard for `select(2)`, which nothing here uses, and running out
/// of descriptors would leave the listener unable to accept. Returns the limit now in force.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write only the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere.
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// Resolves when SIGTERM or SIGINT arrives: what stops the daemon when it runs as a program.
pub fn termination() -> Result<impl Future<Output = ()>, Error> {
    let mut terminate =
        signal(SignalKind::terminate()).map_err(Error::io("cannot install signal handlers"))?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
}

/// How `serve` runs besides its config.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// `--web.enable-lifecycle`: `POST /-/reload` is allowed.
    pub lifecycle: bool,
    /// `--shard.index` / `--shard.total`: which databases this replica polls.
    pub shard: Shard,
    /// `--web.config.file`, validated and followed.
    pub web: Option<Arc<crate::web::Watched>>,
}

/// Runs the daemon on `listener` until `shutdown` resolves. SIGHUP (and, with `lifecycle`,
/// `POST /-/reload`) re-reads the config file: a valid one replaces the pollers, an invalid one is
/// refused and the running one stays. With a shard, only the databases it owns are polled; `/sd`
/// lists them all.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    options: ServeOptions,
) -> Result<(), Error> {
    let ServeOptions {
        lifecycle,
        shard,
        web,
    } = options;
    let mut hangup =
        signal(SignalKind::hangup()).map_err(Error::io("cannot install signal handlers"))?;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let open_files = raise_open_file_limit();
    crate::poller::tune_allocator();
    let owned = shard.owned(&config);
    tracing::info!(address = %address, version = env!("CARGO_PKG_VERSION"), databases = owned.databases.len(), configured = config.databases.len(), shard = shard.index, shards = shard.total, open_file_limit = open_files, "listening");

    let snapshot = Arc::new(Snapshot::new(&owned));
    snapshot.set_fleet(Fleet::new(&config, shard));
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (stop_http, http_stopped) = watch::channel(false);
    let ctx = HttpContext {
        snapshot: snapshot.clone(),
        reload: lifecycle.then(|| reload_tx.clone()),
        web,
    };
    let publisher = tokio::spawn(snapshot.clone().publish_on_change(http_stopped.clone()));
    let server = tokio::spawn(http::serve(listener, ctx, http_stopped));
    let mut running = Running {
        pollers: Some(Pollers::start(&owned, snapshot.clone())),
        config,
        shard,
        snapshot,
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                let _ = running.reload().await;
            }
            Some(answer) = reload_rx.recv() => {
                let result = running.reload().await;
                let _ = answer.send(result);
            }
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    let _ = stop_http.send(true);
    if let Some(p) = running.pollers.take() {
        p.stop().await;
    }
    let _ = server.await;
    let _ = publisher.await;
    drop(reload_tx);
    Ok(())
}

/// The daemon's current generation of config and pollers.
struct Running {
    pollers: Option<Pollers>,
    /// The whole configuration, every shard's databases.
    config: Config,
    shard: Shard,
    snapshot: Arc<Snapshot>,
}

impl Running {
    /// Re-reads the config file. A valid one replaces the pollers; an invalid one is refused and
    /// everything keeps running as before.
    async fn reload(&mut self) -> Result<(), String> {
        let result = self.adopt().await;
        // Published before the answer: a scrape after `POST /-/reload` returned sees its outcome
        // (the publisher task alone would get there a moment later).
        let snapshot = self.snapshot.clone();
        if tokio::task::spawn_blocking(move || snapshot.publish())
            .await
            .is_err()
        {
            tracing::error!("publishing after the reload failed");
        }
        result
    }

    /// Loads the config file and, when it is valid, replaces the pollers.
    async fn adopt(&mut self) -> Result<(), String> {
        // Off the async workers: a fleet's config is megabytes of YAML and globs to compile.
        let path = self.config.path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load(&path))
            .await
            .map_err(|e| format!("internal error while loading the config: {e}"))?;
        match loaded {
            Err(e) => {
                tracing::error!(error = %e, "reload refused; keeping the running configuration");
                self.snapshot.set_reload_ok(false);
                Err(e.to_string())
            }
            Ok(new) => {
                if let Some(p) = self.pollers.take() {
                    p.stop().await;
                }
                let owned = self.shard.owned(&new);
                self.snapshot.apply_config(&owned);
                self.snapshot.set_fleet(Fleet::new(&new, self.shard));
                self.pollers = Some(Pollers::start(&owned, self.snapshot.clone()));
                self.config = new;
                self.snapshot.set_reload_ok(true);
                tracing::info!(
                    databases = owned.databases.len(),
                    configured = self.config.databases.len(),
                    "configuration reloaded"
                );
                Ok(())
            }
        }
    }
}

/// Loads `path` and picks the database called `name` from it.
fn configured_database(path: &Path, name: &str) -> Result<DatabaseConfig, Error> {
    config::load(path)?
        .databases
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| Error::NoSuchDatabase {
            config: path.display().to_string(),
            name: name.to_string(),
        })
}

/// `check`: one check of each (or one) configured database. Exit 0 in sync, 1 drift, 2 when any
/// database could not be checked (a database we cannot vouch for outranks drift elsewhere).
pub async fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    let mut config = config::load(&args.config_file)?;
    if let Some(name) = &args.database {
        config.databases.retain(|d| &d.name == name);
        if config.databases.is_empty() {
            return Err(Error::NoSuchDatabase {
                config: args.config_file.display().to_string(),
                name: name.clone(),
            });
        }
    }
    // Only the state: `check` serves nothing, so nothing is rendered for HTTP.
    let mut state = State::new(&config);
    // The same caps as the daemon's pollers (global and per server): `check` must not stampede
    // a fleet either.
    let slots = CheckSlots::for_config(&config);
    let shared = Arc::new(expected::SharedExpectations::default());
    let mut checks = tokio::task::JoinSet::new();
    for db in config.databases.iter().cloned() {
        let slots = slots.for_database(&db);
        let mut cache = expected::ExpectedCache::sharing(shared.clone());
        checks.spawn(async move {
            let _held = slots.acquire().await;
            let outcome = check_once(&db, &mut cache).await;
            (db.name, outcome)
        });
    }
    while let Some(joined) = checks.join_next().await {
        match joined {
            Ok((name, outcome)) => {
                state.record(&name, outcome);
            }
            // Its database stays "not checked", which exits 2 below: never read as in sync.
            Err(e) => tracing::error!(error = %e, "a check stopped before it finished"),
        }
    }
    let code = {
        let doc = report::document(&state);
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("the drift document always serialises")
            ),
            Output::Text => print!("{}", report::text(&doc)),
        }
        ExitCode::from(exit_code(&doc))
    };
    Ok(code)
}

/// `check`'s exit status for `doc`: 2 when a database could not be checked, or was never
/// checked at all (its check stopped before it finished), 1 on drift, else 0.
fn exit_code(doc: &report::DriftDocument) -> u8 {
    if doc.databases.iter().any(|d| {
        matches!(
            d.status,
            report::Status::CheckFailed | report::Status::Pending
        )
    }) {
        EXIT_ERROR
    } else if doc.databases.iter().any(|d| !d.drift.is_empty()) {
        EXIT_DRIFT
    } else {
        0
    }
}

/// One check with a pool of its own, closed afterwards.
async fn check_once(db: &DatabaseConfig, cache: &mut expected::ExpectedCache) -> CheckOutcome {
    match pool_for(db) {
        Ok(pool) => {
            let outcome = run_check(db, &pool, cache).await;
            pool.close().await;
            cache.close_connections().await;
            outcome
        }
        Err(e) => CheckOutcome::failed(CheckError::Options(e)),
    }
}

/// What `snapshot` reads: a database given by URL or by its configured name.
struct LiveSource {
    engine: Engine,
    url: DatabaseUrl,
    schemas: Vec<String>,
    timeout: Duration,
    /// How messages and the file's header name it (never with the password).
    origin: String,
}

/// `snapshot`: the live schema (or, with `--expected`, the resolved expectation) as an
/// expected-schema file.
pub async fn snapshot(args: &SnapshotArgs) -> Result<ExitCode, Error> {
    let mut source = match (&args.database_url, &args.config_file, &args.database) {
        (Some(raw), _, _) => url_source(raw)?,
        (None, Some(path), Some(name)) => {
            let db = configured_database(path, name)?;
            if args.expected {
                let timeout = args.timeout.unwrap_or(db.timeout);
                return snapshot_expected(&db, timeout, args.output.as_deref()).await;
            }
            if db.tenants.is_some() && args.schema.is_empty() {
                return Err(Error::Usage(format!(
                    "database {name:?} matches its tenant schemas by pattern: pass --schema=TENANT \
                     to write one tenant's tables as the template (unqualified), and --schema \
                     again for each schema named exactly"
                )));
            }
            LiveSource {
                origin: format!("database {:?} of {}", db.name, path.display()),
                engine: db.engine,
                url: db.url,
                schemas: db.schemas,
                timeout: db.timeout,
            }
        }
        _ => {
            return Err(Error::Usage(
                "snapshot needs --database-url, or --config.file with --database".into(),
            ))
        }
    };
    if !args.schema.is_empty() {
        source.schemas = args.schema.clone();
    }
    if let Some(timeout) = args.timeout {
        source.timeout = timeout;
    }
    let Some(default_schema) = source.schemas.first().cloned() else {
        return Err(Error::Usage(format!(
            "{}: name the database in the URL or pass --schema",
            source.origin
        )));
    };
    let live = read_live(&source).await?;
    let text = format!(
        "# Expected schema written by schema_exporter {} snapshot from {} ({}).\n# Schemas: {}. Unqualified tables belong to {default_schema}.\n{}",
        env!("CARGO_PKG_VERSION"),
        source.origin,
        source.engine.name(),
        source.schemas.join(", "),
        expected::render_file(&live, &default_schema)
    );
    write_output(args.output.as_deref(), &text)
}

/// `--database-url` as a snapshot source, with the engine's default schemas.
fn url_source(raw: &str) -> Result<LiveSource, Error> {
    let flag = |e: String| Error::Usage(format!("--database-url: {e}"));
    let engine = Engine::from_url(raw).map_err(flag)?;
    let url = DatabaseUrl::new(raw, None).map_err(|e| flag(e.to_string()))?;
    Ok(LiveSource {
        origin: url.redacted().to_string(),
        schemas: engine.default_schemas(url.expose()),
        engine,
        url,
        timeout: DEFAULT_TIMEOUT,
    })
}

/// One catalog read of `source`, bounded by its timeout, with a pool closed afterwards.
async fn read_live(source: &LiveSource) -> Result<crate::model::Schema, Error> {
    let limits = SessionLimits::for_check(source.timeout);
    let live = async {
        let pool = Pool::connect_lazy(source.engine, &source.url, limits)?;
        // A snapshot states keys, indexes and foreign keys too, so checking against it compares
        // them.
        let read = async {
            let mut live = pool.introspect(&source.schemas, None, false).await?;
            live.attach_indexes(pool.indexes(&source.schemas, None).await?);
            live.attach_foreign_keys(pool.foreign_keys(&source.schemas, None).await?);
            live.attach_checks(pool.checks(&source.schemas, None).await?);
            if source.engine == crate::dialect::Engine::Postgres {
                live.types = Some(pool.enum_types(&source.schemas, false).await?);
            }
            Ok::<_, sqlx::Error>(live)
        };
        let live = read.await;
        pool.close().await;
        live
    };
    let unreadable = |why: String| {
        Error::Failed(format!(
            "cannot read the schema of {}: {why}",
            source.origin
        ))
    };
    match tokio::time::timeout(source.timeout, live).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => {
            let why = crate::check::failure(source.engine, &source.url, source.timeout, &e).await;
            let hint = if matches!(e, sqlx::Error::PoolTimedOut) {
                " (--timeout)"
            } else {
                ""
            };
            Err(unreadable(format!("{why}{hint}")))
        }
        Err(_) => Err(unreadable(format!(
            "timed out after {} (--timeout)",
            humantime::format_duration(source.timeout)
        ))),
    }
}

/// `snapshot --expected`: the expectation as the exporter resolved it (after reading its YAML, SQL
/// files or reference database), in the expected-schema format, so a surprise can be diagnosed.
async fn snapshot_expected(
    db: &DatabaseConfig,
    timeout: Duration,
    output: Option<&Path>,
) -> Result<ExitCode, Error> {
    let mut cache = expected::ExpectedCache::default();
    let schemas = db.expectation_schemas();
    let load = db.expected.load(db.engine, &schemas, &mut cache);
    let expectation = match tokio::time::timeout(timeout, load).await {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return Err(Error::Failed(format!("database {:?}: {e}", db.name))),
        Err(_) => {
            return Err(Error::Failed(format!(
                "database {:?}: loading the expectation timed out after {} (--timeout)",
                db.name,
                humantime::format_duration(timeout)
            )))
        }
    };
    let default_schema = schemas.first().map_or("public", String::as_str);
    let belong = match &db.tenants {
        Some(_) => format!("are the template of every tenant schema ({default_schema})"),
        None => format!("belong to {default_schema}"),
    };
    let text = format!(
        "# Expectation of database {:?} as schema_exporter {} resolved it from {} ({}).\n# Unqualified tables {belong}.\n{}",
        db.name,
        env!("CARGO_PKG_VERSION"),
        db.expected.describe(),
        db.engine.name(),
        expected::render_file(&expectation.schema, default_schema)
    );
    write_output(output, &text)
}

fn write_output(output: Option<&Path>, text: &str) -> Result<ExitCode, Error> {
    match output {
        None => print!("{text}"),
        Some(path) => std::fs::write(path, text)
            .map_err(Error::io(format!("cannot write {}", path.display())))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `validate`: the config, every expectation and the web config; every problem is listed.
pub async fn validate(config_file: &Path, web_config: Option<&Path>) -> Result<ExitCode, Error> {
    let config = config::load(config_file)?;
    let mut problems = Vec::new();
    if let Some(web) = web_config {
        if let Err(e) = crate::web::WebConfig::load(web) {
            problems.push(e);
        }
    }
    for db in &config.databases {
        // A reference is another database's live schema: validate stays offline and only checks
        // that the name resolves (the config loader did).
        if matches!(db.expected, expected::ExpectedSource::Reference(_)) {
            continue;
        }
        let mut cache = expected::ExpectedCache::default();
        let schemas = db.expectation_schemas();
        match db.expected.load(db.engine, &schemas, &mut cache).await {
            Err(e) => problems.push(format!("database {:?}: {e}", db.name)),
            Ok(e) => {
                if let Some(e) = crate::check::empty_template(db, &e.schema) {
                    problems.push(format!("database {:?}: {e}", db.name));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    println!(
        "{}: configuration and {} expected schema(s) are valid",
        config_file.display(),
        config.databases.len()
    );
    if let Some(web) = web_config {
        println!("{}: web configuration is valid", web.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOutcome, Checked, DriftReport};
    use crate::dialect::Engine;
    use crate::model::Schema;

    fn in_sync() -> CheckOutcome {
        let comparison = crate::diff::compare(
            Engine::Sqlite,
            &Schema::default(),
            &Schema::default(),
            &[],
            None,
            &Default::default(),
        );
        CheckOutcome {
            started: std::time::SystemTime::now(),
            duration: std::time::Duration::ZERO,
            result: Ok(Checked {
                report: DriftReport::new(Engine::Sqlite, comparison),
                expected_fingerprint: 1,
                expected_modified: None,
            }),
        }
    }

    /// A database whose check never reported (its task stopped) is not vouched for: `check`
    /// exits 2 while any is left so, however the others stand.
    #[test]
    fn a_database_never_checked_exits_as_an_error_not_in_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "databases:\n  - {name: a, url: \"sqlite:a.db\", expected: {file: e.yaml}}\n  - {name: b, url: \"sqlite:b.db\", expected: {file: e.yaml}}\n",
        )
        .unwrap();
        let config = config::load(&path).unwrap();
        let mut state = State::new(&config);
        assert_eq!(exit_code(&report::document(&state)), EXIT_ERROR);
        state.record("a", in_sync());
        assert_eq!(exit_code(&report::document(&state)), EXIT_ERROR);
        state.record("b", in_sync());
        assert_eq!(exit_code(&report::document(&state)), 0);
    }
}
