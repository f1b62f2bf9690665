//! Test harness: throwaway PostgreSQL servers, the exporter binary on port 0, bounded waits.
//!
//! Every PostgreSQL test gets its own server (initdb into a temp dir, loopback, a free port, its own
//! socket dir) and its own database, stopped and deleted when the handle drops, so tests run in
//! parallel without sharing anything. `SCHEMA_EXPORTER_TEST_POSTGRES_URL` points the suite at an
//! existing server instead (a fresh database per test is created there and dropped afterwards).
//! Without server binaries the suite says so and skips, except under `CI=true`, where it fails.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Reports a missing prerequisite: fatal under CI, a loud skip elsewhere.
pub fn missing(what: &str) {
    if ci() {
        panic!("CI=true but {what}: install it (see .ci/run)");
    }
    eprintln!(
        "\n*** SKIPPED: {what}; install it to run this test (CI fails instead of skipping) ***\n"
    );
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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs `program` as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn chown_to_server_user(path: &Path) {
    if !is_root() {
        return;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        assert!(
            out.status.success(),
            "running PostgreSQL as root needs a `postgres` user"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A server process the harness started, in a temp dir of its own; stopped with its engine's
/// shutdown signal and deleted on drop.
pub struct Throwaway {
    child: Child,
    signal: &'static str,
    _dir: tempfile::TempDir,
}

impl Throwaway {
    /// Runs `command(port)` on free ports until the server accepts TCP; a server that exits first
    /// lost the race for its port, so another is tried.
    pub fn start(
        what: &str,
        dir: tempfile::TempDir,
        signal: &'static str,
        command: impl Fn(u16) -> Command,
    ) -> (u16, Throwaway) {
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = command(port)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let ready = wait_for(WAIT, &format!("{what} to start"), || {
                if let Ok(Some(_)) = child.try_wait() {
                    return Some(false);
                }
                std::net::TcpStream::connect(("127.0.0.1", port))
                    .ok()
                    .map(|_| true)
            });
            if ready {
                return (
                    port,
                    Throwaway {
                        child,
                        signal,
                        _dir: dir,
                    },
                );
            }
        }
        panic!("{what} did not start on any of 5 free ports");
    }

    /// Stops the server (PostgreSQL's fast shutdown is INT, MariaDB's clean one TERM), killing it
    /// if it has not exited within [`WAIT`].
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args([&format!("-{}", self.signal), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One test's own database, on a throwaway server or on an external one given by an environment
/// variable (the database is then dropped afterwards).
pub struct TestDb<DB: sqlx::Database>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    /// URL of the test's database, as the exporter should use it.
    pub url: String,
    admin_url: String,
    drop_sql: String,
    server: Option<Throwaway>,
    _engine: std::marker::PhantomData<DB>,
}

/// A PostgreSQL database for one test (`SCHEMA_EXPORTER_TEST_POSTGRES_URL` for an external server).
pub type Postgres = TestDb<sqlx::Postgres>;
/// A MariaDB database for one test (`SCHEMA_EXPORTER_TEST_MYSQL_URL` for an external MySQL or MariaDB).
pub type MariaDb = TestDb<sqlx::MySql>;

impl<DB: sqlx::Database> TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    /// Connects to the server (waiting until it accepts connections) and creates a fresh database.
    async fn create(
        what: &str,
        admin_url: String,
        server: Option<Throwaway>,
        drop_suffix: &str,
    ) -> Self {
        let database = format!(
            "se_test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        let deadline = Instant::now() + WAIT;
        let admin = loop {
            match sqlx::Pool::<DB>::connect(&admin_url).await {
                Ok(pool) => break pool,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "{what} never accepted connections: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        TestDb {
            url: replace_database(&admin_url, &database),
            drop_sql: format!("DROP DATABASE IF EXISTS {database}{drop_suffix}"),
            admin_url,
            server,
            _engine: std::marker::PhantomData,
        }
    }

    /// A pool with full rights on the test's database.
    pub async fn pool(&self) -> sqlx::Pool<DB> {
        sqlx::pool::PoolOptions::<DB>::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap()
    }

    /// Runs a batch of statements on the test's database.
    pub async fn exec(&self, sql: &str) {
        let pool = self.pool().await;
        sqlx::raw_sql(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
        pool.close().await;
    }

    /// Stops the server now (simulates a database going down). An external server is not ours to
    /// stop: this says so and returns `false`, and the test ends there.
    #[must_use]
    pub fn stop_server(&mut self) -> bool {
        match self.server.as_mut() {
            Some(server) => {
                server.stop();
                true
            }
            None => {
                eprintln!(
                    "*** not stopping an external server: the rest of this test is skipped ***"
                );
                false
            }
        }
    }
}

impl<DB: sqlx::Database> Drop for TestDb<DB>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    fn drop(&mut self) {
        if self.server.is_some() {
            return; // the Throwaway stops the server and deletes its directory
        }
        let (admin, sql) = (self.admin_url.clone(), self.drop_sql.clone());
        // On a plain thread of its own: Drop may run inside the test's runtime.
        block_on(async move {
            let result = if admin.starts_with("mysql") {
                match sqlx::MySqlPool::connect(&admin).await {
                    Ok(pool) => sqlx::raw_sql(&sql).execute(&pool).await.map(drop),
                    Err(e) => Err(e),
                }
            } else {
                match sqlx::PgPool::connect(&admin).await {
                    Ok(pool) => sqlx::raw_sql(&sql).execute(&pool).await.map(drop),
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = result {
                eprintln!("could not drop the test database ({sql}): {e}");
            }
        });
    }
}

impl Postgres {
    /// Starts a throwaway server (or uses the external one) and creates the test's database.
    /// Returns `None` (after saying why) when no server can be had outside CI.
    pub async fn start() -> Option<Postgres> {
        let (url, server) = match std::env::var("SCHEMA_EXPORTER_TEST_POSTGRES_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                let (Some(initdb), Some(postgres)) =
                    (find_program(&["initdb"]), find_program(&["postgres"]))
                else {
                    missing("PostgreSQL server binaries (initdb, postgres) were not found (Debian package `postgresql`)");
                    return None;
                };
                let (port, server) = spawn_postgres(&initdb, &postgres);
                (
                    format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    Some(server),
                )
            }
        };
        Some(Self::create("PostgreSQL", url, server, " WITH (FORCE)").await)
    }
}

impl MariaDb {
    /// Starts a throwaway server (or uses the external one) and creates the test's database.
    /// Returns `None` (after saying why) when no server can be had outside CI.
    pub async fn start() -> Option<MariaDb> {
        let (url, server) = match std::env::var("SCHEMA_EXPORTER_TEST_MYSQL_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                let (Some(install), Some(mariadbd)) = (
                    find_program(&["mariadb-install-db"]),
                    find_program(&["mariadbd"]),
                ) else {
                    missing("MariaDB server binaries (mariadb-install-db, mariadbd) were not found (Debian package `mariadb-server`)");
                    return None;
                };
                let (port, server) = spawn_mariadb(&install, &mariadbd);
                (format!("mysql://root@127.0.0.1:{port}/mysql"), Some(server))
            }
        };
        Some(Self::create("MariaDB", url, server, "").await)
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("test server URL parses");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

fn spawn_postgres(initdb: &Path, postgres: &Path) -> (u16, Throwaway) {
    let dir = tempfile::Builder::new().prefix("se-pg-").tempdir().unwrap();
    chown_to_server_user(dir.path());
    let data = dir.path().join("data");
    let out = as_server_user(initdb)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let socket_dir = dir.path().to_path_buf();
    Throwaway::start("PostgreSQL", dir, "INT", |port| {
        let mut c = as_server_user(postgres);
        c.arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(&socket_dir)
            .args([
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ])
            .args(["-c", "max_connections=40", "-c", "shared_buffers=16MB"]);
        c
    })
}

fn spawn_mariadb(install: &Path, mariadbd: &Path) -> (u16, Throwaway) {
    let dir = tempfile::Builder::new().prefix("se-my-").tempdir().unwrap();
    let data = dir.path().join("data");
    let root = is_root();
    let mut cmd = Command::new(install);
    // The bootstrap server's temporary tables are named after its pid-derived ids in $TMPDIR; parallel
    // bootstraps sharing /tmp collide, so each gets its own.
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .env("TMPDIR", dir.path());
    if root {
        cmd.arg("--user=root");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = dir.path().to_path_buf();
    Throwaway::start("MariaDB", dir, "TERM", |port| {
        let mut c = Command::new(mariadbd);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", base.join("sock").display()))
            .arg(format!("--pid-file={}", base.join("pid").display()))
            // Its own temp dir: internal temp tables of parallel servers must not meet in /tmp.
            .arg(format!("--tmpdir={}", base.display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
            ])
            .args([
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .args(["--max-connections=40", "--performance-schema=OFF"]);
        if root {
            c.arg("--user=root");
        }
        c
    })
}

/// The exporter binary running as a daemon on a free port, killed on drop.
pub struct Daemon {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    /// Everything it logged so far.
    pub logs: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts the binary with `args` plus `--web.listen-address=127.0.0.1:0`, waiting for its
    /// "listening" log line to learn the port.
    pub fn start(args: &[&str]) -> Daemon {
        let mut child = Command::new(BIN)
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
            child,
            logs,
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

    /// Sends a signal by name (e.g. "HUP", "TERM").
    pub fn signal(&self, name: &str) {
        assert!(Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
    }

    /// Waits for the process to exit and returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        wait_for(WAIT, "the daemon to exit", || {
            self.child.try_wait().unwrap()
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Runs `sql` on the SQLite file at `path`, creating it when missing.
pub async fn sqlite_exec(path: &Path, sql: &str) {
    use sqlx::{Connection, Executor};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    c.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    c.close().await.unwrap();
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

/// One check through the library, exactly as the poller runs it, of the first database in the
/// config file at `path`; panics if the check fails.
pub async fn check_config(path: &str) -> schema_exporter::check::DriftReport {
    let cfg = schema_exporter::config::load(Path::new(path)).unwrap();
    let db = &cfg.databases[0];
    let pool = schema_exporter::check::pool_for(db).unwrap();
    let mut cache = schema_exporter::expected::ExpectedCache::default();
    let outcome = schema_exporter::check::run_check(db, &pool, &mut cache).await;
    pool.close().await;
    outcome
        .result
        .unwrap_or_else(|e| panic!("check failed: {e}"))
        .report
}

/// A drift item reduced to (kind, table, column), for comparing whole reports.
pub type Found = (schema_exporter::diff::DriftKind, String, Option<String>);

/// The report's items as sorted [`Found`] triples.
pub fn found(report: &schema_exporter::check::DriftReport) -> Vec<Found> {
    let mut v: Vec<Found> = report
        .items
        .iter()
        .map(|i| (i.kind, i.table.clone(), i.column.clone()))
        .collect();
    v.sort();
    v
}

/// Builds one [`Found`] triple.
pub fn item(kind: schema_exporter::diff::DriftKind, table: &str, column: Option<&str>) -> Found {
    (kind, table.to_string(), column.map(str::to_string))
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
    use schema_exporter::diff::DriftKind as K;
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
