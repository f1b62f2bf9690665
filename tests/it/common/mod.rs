//! The test harness: the exporter binary as a command and as a daemon on port 0, throwaway
//! database servers (`servers`), one trait over the three engines' test databases (`engines`),
//! bounded waits, and the prerequisites a test cannot run without.
//!
//! A missing server binary or tool is a loud skip outside CI and a failure under `CI=true`. Each
//! skip is also recorded in `SCHEMA_EXPORTER_TEST_SKIP_DIR` when it is set, so `scripts/test` counts
//! the test as skipped rather than passed.

mod engines;
mod servers;

pub use engines::{sqlite_exec, EngineDb, Sqlite};
pub use servers::{with_user, MariaDb, Postgres, Throwaway};

// The library's API as the tests use it, named here and nowhere else: when a type moves to another
// module, this block is the one place to change.
pub use schema_exporter::check::{DriftItem, DriftReport};
pub use schema_exporter::demo;
pub use schema_exporter::diff::DriftKind;
pub use schema_exporter::engine::Pool;
use schema_exporter::{check, config, expected::ExpectedCache};

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_schema_exporter");

/// Upper bound for anything the tests wait on.
pub const WAIT: Duration = Duration::from_secs(30);

/// Polls `f` every 50 ms until it returns `Some`, failing the test after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports a missing prerequisite: fatal under CI, a loud skip elsewhere. The caller returns (or
/// leaves out the part that needs it) after this.
pub fn missing(what: &str) {
    if ci() {
        panic!("CI=true but {what}: install it (see .ci/run)");
    }
    skipped(&format!(
        "{what}; install it to run this test (CI fails instead of skipping)"
    ));
}

/// Says loudly that the current test (or part of it) does not run, and records it in
/// `SCHEMA_EXPORTER_TEST_SKIP_DIR` when that is set: a file named after the test, one reason a line.
/// A skipped test still passes for libtest and its output is captured, so the record is what lets
/// `scripts/test` count and show it.
pub fn skipped(reason: &str) {
    eprintln!("\n*** SKIPPED: {reason} ***\n");
    let Some(dir) = std::env::var_os("SCHEMA_EXPORTER_TEST_SKIP_DIR") else {
        return;
    };
    // libtest runs each test on a thread named after it (module path included).
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&dir).join(&test))
        .unwrap_or_else(|e| panic!("recording the skip of {test}: {e}"));
    writeln!(file, "{reason}").unwrap();
}

/// A free loopback port (the race with another process taking it is handled by retrying).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first of `names` found, trying each name on `PATH` and then where Debian installs programs
/// off `PATH`: `/usr/sbin` (mariadbd) and `/usr/lib/postgresql/<version>/bin`, newest version first
/// (initdb, postgres).
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/sbin"));
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    dirs.extend(versions.into_iter().map(|(_, dir)| dir));
    names
        .iter()
        .find_map(|name| dirs.iter().map(|dir| dir.join(name)).find(|p| p.is_file()))
}

/// The demo's incident as `/metrics` shows it: export_logs lacks one column.
pub const DEMO_MISSING: &str =
    r#"schema_missing_columns{database="demo",schema="main",table="export_logs"}"#;

/// An exporter serving on a free loopback port: the binary as a child process (for what only the
/// binary has: its flags, logs, signals and exit code), or the library's `serve` on a thread of the
/// test process (everything else). Stopped on drop.
pub struct Daemon {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    runner: Runner,
    /// Everything the binary logged so far (empty in process: logs go to the test's stderr).
    pub logs: Arc<Mutex<String>>,
}

enum Runner {
    Binary(Child),
    InProcess {
        /// Resolves the shutdown future `serve` was given.
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        /// Says when `serve` has returned, so a stop that hangs fails the test.
        stopped: mpsc::Receiver<()>,
    },
}

/// What an in-process daemon runs: given the bound listener and the shutdown future.
type Serve = Box<
    dyn FnOnce(
            tokio::net::TcpListener,
            std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>
        + Send,
>;

impl Daemon {
    /// The demo in process, once its first check has reported the incident.
    pub fn demo() -> Daemon {
        let daemon = Daemon::in_process(
            2,
            Box::new(|listener, stop| {
                Box::pin(async move { demo::run(listener, stop).await.map_err(|e| e.to_string()) })
            }),
        );
        daemon.wait_sample(DEMO_MISSING, 1.0);
        daemon
    }

    /// `serve --config.file=PATH --web.enable-lifecycle` in process.
    pub fn serve(config: &str) -> Daemon {
        Daemon::serve_on(config, 2)
    }

    /// [`Daemon::serve`] on a runtime of `workers` async worker threads.
    pub fn serve_on(config: &str, workers: usize) -> Daemon {
        let path = PathBuf::from(config);
        Daemon::in_process(
            workers,
            Box::new(move |listener, stop| {
                Box::pin(async move {
                    let config = schema_exporter::config::load(&path).map_err(|e| e.to_string())?;
                    schema_exporter::app::serve(
                        config,
                        listener,
                        stop,
                        schema_exporter::app::ServeOptions {
                            lifecycle: true,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())
                })
            }),
        )
    }

    /// Runs `serve` on its own runtime on a thread of the test process, on `127.0.0.1:0`.
    fn in_process(workers: usize, serve: Serve) -> Daemon {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .unwrap();
            let result = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, Box::pin(async move { drop(stop_rx.await) })).await
            });
            // A check still parsing must not hold the test up once serve has returned.
            runtime.shutdown_timeout(Duration::from_secs(1));
            if let Err(e) = result {
                eprintln!("in-process exporter failed: {e}");
            }
            let _ = stopped_tx.send(());
        });
        let addr = addr_rx
            .recv_timeout(WAIT)
            .expect("the in-process exporter did not bind");
        Daemon {
            base: format!("http://{addr}"),
            runner: Runner::InProcess {
                stop: Some(stop_tx),
                stopped,
            },
            logs: Arc::default(),
        }
    }

    /// `demo ARGS...` as the binary, once its first check has reported the incident.
    pub fn binary_demo(args: &[&str]) -> Daemon {
        let mut all = vec!["demo"];
        all.extend_from_slice(args);
        let daemon = Daemon::start(&all);
        daemon.wait_sample(DEMO_MISSING, 1.0);
        daemon
    }

    /// Starts the binary with `args` plus `--web.listen-address=127.0.0.1:0`, waiting for its
    /// "listening" log line to learn the port.
    pub fn start(args: &[&str]) -> Daemon {
        Daemon::start_command(Command::new(BIN), args)
    }

    /// [`Daemon::start`] with limits of `soft` and `hard` open file descriptors, as `ulimit -Sn`
    /// and `ulimit -Hn` in a shell would set them (the daemon cannot raise a hard limit).
    pub fn start_with_open_files(args: &[&str], soft: u64, hard: u64) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(BIN);
        // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Daemon::start_command(command, args)
    }

    fn start_command(mut command: Command, args: &[&str]) -> Daemon {
        let mut child = command
            .args(args)
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // logfmt: `address=127.0.0.1:PORT`; JSON: `"address":"127.0.0.1:PORT"`.
                let logfmt = line
                    .split("address=")
                    .nth(1)
                    .and_then(|a| a.split_whitespace().next());
                let json = line
                    .split("\"address\":\"")
                    .nth(1)
                    .and_then(|a| a.split('"').next());
                if let Some(addr) = logfmt.or(json) {
                    let _ = tx.send(addr.to_string());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = rx.recv_timeout(WAIT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "daemon did not log its address; logs:\n{}",
                logs.lock().unwrap()
            )
        });
        Daemon {
            base: format!("http://{addr}"),
            runner: Runner::Binary(child),
            logs,
        }
    }

    /// The binary's process id.
    pub fn pid(&mut self) -> u32 {
        self.child().id()
    }

    fn child(&mut self) -> &mut Child {
        match &mut self.runner {
            Runner::Binary(child) => child,
            Runner::InProcess { .. } => panic!("signals and exit codes need Daemon::start"),
        }
    }

    /// GET `path`: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http("GET", &format!("{}{path}", self.base), &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// POST `path` with an empty body: (status, body).
    pub fn post(&self, path: &str) -> (u16, String) {
        http("POST", &format!("{}{path}", self.base), &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The value of the sample whose line starts with `series` (name and labels as printed).
    pub fn sample(&self, series: &str) -> Option<f64> {
        sample(&self.get("/metrics").1, series)
    }

    /// Waits until `series` reads `value`.
    pub fn wait_sample(&self, series: &str, value: f64) {
        wait_for(WAIT, &format!("{series} == {value}"), || {
            (self.sample(series) == Some(value)).then_some(())
        });
    }

    /// Sends a signal by name (e.g. "HUP", "TERM") to the binary.
    pub fn signal(&mut self, name: &str) {
        let pid = self.child().id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap()
            .success());
    }

    /// Waits for the binary to exit and returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = self.child();
        wait_for(WAIT, "the daemon to exit", || child.try_wait().unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Binary(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Runner::InProcess { stop, stopped } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                // Not a panic while unwinding from another one: that would hide the first.
                if stopped.recv_timeout(WAIT).is_err() && !std::thread::panicking() {
                    panic!("the in-process exporter did not stop within {WAIT:?}");
                }
            }
        }
    }
}

/// Finds the value of the first sample line starting with `series` followed by a space.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// An HTTP request with `query` parameters and an empty body: (status, body), whatever the
/// status. Only a transport failure (nothing listening yet, no answer within [`WAIT`]) is an `Err`,
/// so callers can poll a server that is still starting.
pub fn http(method: &str, url: &str, query: &[(&str, &str)]) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .into();
    let query = query.iter().copied();
    let response = match method {
        "GET" => agent.get(url).query_pairs(query).call(),
        "POST" => agent.post(url).query_pairs(query).send_empty(),
        other => panic!("unsupported method {other}"),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{method} {url}: {e}"))?;
    Ok((status, body))
}

/// A GET with request `headers`: (status, response headers lower-cased, raw body bytes), so tests
/// can see encodings as they travel.
pub fn get_raw(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .into();
    let request = headers
        .iter()
        .fold(agent.get(url), |r, (k, v)| r.header(*k, *v));
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let names = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (status, names, body)
}

/// Runs the binary to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    run_with_env(args, &[])
}

/// Runs the binary to completion with extra environment variables: (exit code, stdout, stderr).
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `expected` as `dir/expected.yaml` and a config watching database `name` at `url` against
/// it; `top` adds top-level keys, `extra` keys of the database. Returns the config's path.
pub fn config_with_expected(
    dir: &Path,
    name: &str,
    url: &str,
    expected: &str,
    top: &str,
    extra: &str,
) -> String {
    write(dir, "expected.yaml", expected);
    write(
        dir,
        "config.yaml",
        &format!("{top}databases:\n  - name: {name}\n    url: {url}\n    expected: {{file: expected.yaml}}\n{extra}"),
    )
}

/// A tool the test needs: its path, or `None` after reporting it missing (fatal under CI).
pub fn require_tool(names: &[&str], package: &str) -> Option<PathBuf> {
    let found = find_program(names);
    if found.is_none() {
        missing(&format!("{} was not found ({package})", names[0]));
    }
    found
}

/// Runs `program` with `args` in the project folder: (success, stdout, stderr).
pub fn run_tool(program: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a future to completion on a runtime of its own, on a thread of its own: usable from
/// synchronous tests and from code already inside a runtime (such as `Drop` in an async test), where
/// blocking the runtime's own thread would panic.
pub fn block_on<F: std::future::Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(f)
            })
            .join()
            .unwrap()
    })
}

/// `check --config.file CFG ARGS...`, asserting it exits with `code` and that its report says
/// `says`: what it printed on stdout.
pub fn assert_check(cfg: &str, args: &[&str], code: i32, says: &str) -> String {
    let mut all = vec!["check", "--config.file", cfg];
    all.extend_from_slice(args);
    let (got, stdout, stderr) = run(&all);
    assert_eq!(got, code, "check {args:?}:\n{stdout}{stderr}");
    assert!(
        stdout.contains(says),
        "check {args:?} does not say {says:?}:\n{stdout}"
    );
    stdout
}

/// Asserts `text` contains each of `wants`.
pub fn assert_contains_all(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

/// `snapshot --config.file CFG --database NAME ARGS...`: what it printed, asserting it succeeded.
pub fn snapshot(cfg: &str, database: &str, args: &[&str]) -> String {
    let mut all = vec!["snapshot", "--config.file", cfg, "--database", database];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    assert_eq!(code, 0, "snapshot of {database}: {err}");
    out
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// A fresh database on engine `D` built from `sql`, and a temp dir for the test's files; `None`
/// when the engine's server cannot be had (the skip already reported).
pub async fn seeded<D: EngineDb>(sql: &str) -> Option<(D, tempfile::TempDir)> {
    let db = D::start().await?;
    db.exec(sql).await;
    Some((db, tempfile::tempdir().unwrap()))
}

/// The first database of the config file at `path`.
fn first_database(path: &str) -> config::DatabaseConfig {
    let cfg = config::load(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    cfg.databases.into_iter().next().expect("a database")
}

/// The connection pool the exporter gives the first database of the config file at `path`
/// (read-only and time-bounded sessions).
pub fn exporter_pool(path: &str) -> Pool {
    check::pool_for(&first_database(path)).unwrap()
}

/// One check through the library, exactly as the poller runs it, of the first database in the
/// config file at `path`: its report, or why it failed.
pub async fn try_check_config(path: &str) -> Result<DriftReport, String> {
    let db = first_database(path);
    let pool = check::pool_for(&db).unwrap();
    let mut cache = ExpectedCache::default();
    let outcome = check::run_check(&db, &pool, &mut cache).await;
    pool.close().await;
    outcome
        .result
        .map(|checked| checked.report)
        .map_err(|e| e.to_string())
}

/// [`try_check_config`], panicking if the check fails.
pub async fn check_config(path: &str) -> DriftReport {
    try_check_config(path)
        .await
        .unwrap_or_else(|e| panic!("check failed: {e}"))
}

/// A drift item reduced to (kind, table, column), for comparing whole reports.
pub type Found = (DriftKind, String, Option<String>);

/// The report's items as sorted [`Found`] triples.
pub fn found(report: &DriftReport) -> Vec<Found> {
    let mut v: Vec<Found> = report
        .items
        .iter()
        .map(|i| (i.kind, i.table.clone(), i.column.clone()))
        .collect();
    v.sort();
    v
}

/// Builds one [`Found`] triple.
pub fn item(kind: DriftKind, table: &str, column: Option<&str>) -> Found {
    (kind, table.to_string(), column.map(str::to_string))
}

/// The SQL a reviewer runs for `item`: its suggestion, a destructive one uncommented.
pub fn fix_sql(item: &DriftItem) -> &str {
    item.fix
        .suggested_sql
        .trim_start_matches("-- destructive: ")
}

/// A live schema that drifts in every way at once; valid DDL on every engine.
pub const EVERY_KIND_LIVE: &str = "CREATE TABLE t (a bigint NULL DEFAULT 1, b text NOT NULL, extra text, c varchar(10) DEFAULT 'x');
CREATE TABLE surprise (id int);";

/// The expectation [`EVERY_KIND_LIVE`] drifts from: `a` differs in type, nullability and default,
/// `b` in nullability, `c` in default; `gone` and `wanted` are missing, `extra` and `surprise`
/// unexpected. Types are spelled so that every engine can run the suggested fixes.
pub const EVERY_KIND_EXPECTED: &str = "tables:
  t:
    columns:
      a: {type: integer, nullable: false, default: 0}
      b: {type: text, nullable: true}
      c: {type: varchar(10), default: null}
      gone: {type: varchar(20), nullable: false, default: \"'g'\"}
  wanted:
    columns:
      id: {type: bigint, nullable: false}
      label: {type: varchar(20), default: \"'none'\"}
";

/// What checking [`EVERY_KIND_LIVE`] against [`EVERY_KIND_EXPECTED`] must find, sorted.
pub fn every_kind_found() -> Vec<Found> {
    use DriftKind as K;
    vec![
        item(K::MissingTable, "wanted", None),
        item(K::UnexpectedTable, "surprise", None),
        item(K::MissingColumn, "t", Some("gone")),
        item(K::UnexpectedColumn, "t", Some("extra")),
        item(K::TypeMismatch, "t", Some("a")),
        item(K::NullableMismatch, "t", Some("a")),
        item(K::NullableMismatch, "t", Some("b")),
        item(K::DefaultMismatch, "t", Some("a")),
        item(K::DefaultMismatch, "t", Some("c")),
    ]
}
