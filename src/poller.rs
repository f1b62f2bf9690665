//! One background task per database: check, publish to the [`Snapshot`], sleep, repeat.
//!
//! A task runs its checks one after another, so at most one check per database is in flight.
//! Checks take a slot of the server they talk to and one of the global cap ([`Slots`]), so a server
//! that hangs holds at most its own share of the slots. Every database is checked once at start
//! (so `/-/ready` waits for one round, not for an interval), then at a stable phase of its
//! interval derived from its name ([`next_due`]), so a fleet's checks spread over the interval
//! instead of firing together. A check that cannot start within its timeout is marked overdue.
//! Shutdown (or a reload) is a value passed in, and every wait selects on it, so stopping never
//! waits for an interval to run out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::check::{pool_for, run_check, CheckError, CheckOutcome};
use crate::config::{Config, DatabaseConfig};
use crate::engine::Pool;
use crate::expected::{ExpectedCache, SharedExpectations};
use crate::snapshot::Snapshot;

/// The running pollers of one configuration generation.
#[derive(Debug)]
pub struct Pollers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Pollers {
    /// Starts one poller per configured database.
    pub fn start(config: &Config, snapshot: Arc<Snapshot>) -> Pollers {
        Pollers::start_with(
            config,
            snapshot,
            &CheckSlots::for_config(config),
            SystemTime::now(),
        )
    }

    /// [`Pollers::start`] with the slots to take and the wall-clock time from which phases are
    /// found (both given so that tests can hold slots and know when each check falls due).
    fn start_with(
        config: &Config,
        snapshot: Arc<Snapshot>,
        slots: &CheckSlots,
        wall: SystemTime,
    ) -> Pollers {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        // Databases with the same expectation source share one parsed copy.
        let shared = Arc::new(SharedExpectations::default());
        let now = Instant::now();
        // A database checked before this generation (a reload) already reports something, so
        // its first check here can be late like any other; only a new one is merely pending.
        let reported: std::collections::HashSet<String> = snapshot.with_state(|s| {
            s.databases
                .iter()
                .filter(|(_, d)| d.last_check.is_some())
                .map(|(n, _)| n.clone())
                .collect()
        });
        for db in &config.databases {
            tasks.spawn(poll(Box::new(Poller {
                // The phase is found from the wall clock once and then kept on the monotonic
                // clock: a clock step cannot bunch checks up.
                phase: now + next_due(&db.name, db.interval, wall),
                db: db.clone(),
                cache: ExpectedCache::sharing(shared.clone()),
                keep_connection: config.keep_connections.keeps(db.interval),
                kept: None,
                snapshot: snapshot.clone(),
                slots: slots.for_database(db),
                stop: stopped.clone(),
                checked: reported.contains(&db.name),
            })));
        }
        Pollers { stop, tasks }
    }

    /// Stops every poller and waits for them; a check in flight is abandoned.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Every check slot of one configuration: the global cap and one cap per server.
#[derive(Debug)]
pub struct CheckSlots {
    global: Arc<Semaphore>,
    servers: HashMap<String, Arc<Semaphore>>,
}

/// The check slots one database's checks take: its server's and the global one.
#[derive(Debug, Clone)]
pub struct Slots {
    global: Arc<Semaphore>,
    server: Option<Arc<Semaphore>>,
}

/// Both slots of a running check; released when dropped.
#[derive(Debug)]
pub struct Held {
    _server: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl CheckSlots {
    /// `max_concurrent_checks` in all and `max_concurrent_checks_per_server` per server (host and
    /// port) of the configured databases.
    pub fn for_config(config: &Config) -> CheckSlots {
        let per_server = config.max_concurrent_checks_per_server;
        let servers = config
            .databases
            .iter()
            .filter_map(|db| db.url.server())
            .map(|server| (server, Arc::new(Semaphore::new(per_server))))
            .collect();
        CheckSlots {
            global: Arc::new(Semaphore::new(config.max_concurrent_checks)),
            servers,
        }
    }

    /// The slots `db`'s checks take.
    pub fn for_database(&self, db: &DatabaseConfig) -> Slots {
        Slots {
            global: self.global.clone(),
            server: db.url.server().and_then(|s| self.servers.get(&s).cloned()),
        }
    }
}

impl Slots {
    /// Waits for the server's slot, then for a global one: a check queued behind a hung server
    /// does not hold a global slot while it waits. `None` once the semaphores are closed.
    pub async fn acquire(&self) -> Option<Held> {
        let server = match &self.server {
            Some(s) => Some(s.clone().acquire_owned().await.ok()?),
            None => None,
        };
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(Held {
            _server: server,
            _global: global,
        })
    }
}

/// When a database checked every `interval` is next due after `now`: the next instant whose Unix
/// time, modulo the interval, equals the database's phase (a hash of its name). The phase is the
/// same in every process and after every restart, and a fleet's phases spread evenly.
pub fn next_due(name: &str, interval: Duration, now: SystemTime) -> Duration {
    let period = interval.as_millis().max(1);
    let phase = u128::from(crate::metrics::fnv1a(name.as_bytes())) % period;
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        % period;
    let wait = (phase + period - now) % period;
    let wait = if wait == 0 { period } else { wait };
    Duration::from_millis(u64::try_from(wait).unwrap_or(u64::MAX))
}

/// Takes the poller boxed: an async fn's arguments and its locals are stored apart in its state,
/// so a poller passed by value would be held twice by every sleeping task.
async fn poll(mut poller: Box<Poller>) {
    let db = &poller.db;
    tracing::info!(database = %db.name, engine = db.engine.name(), url = %db.url, interval = %humantime::format_duration(db.interval), keep_connection = poller.keep_connection, "watching database");
    // The first check is due at once; later ones at the database's phase.
    let mut due = Instant::now();
    loop {
        tokio::select! {
            _ = poller.stop.changed() => break,
            _ = tokio::time::sleep_until(due) => {}
        }
        let Some(held) = poller.slots_or_overdue().await else {
            break;
        };
        // Boxed: a poller spends nearly all its life asleep or waiting for a slot, and a check
        // inlined here would make every such task as big as a running check's state (6 KiB; 64
        // MiB for 10,000 databases). A check's state exists only while it runs.
        match Box::pin(poller.turn(held)).await {
            Some(next) => due = next,
            None => break,
        }
    }
    Box::pin(poller.close()).await;
}

/// What one database's poller keeps between its checks.
struct Poller {
    db: DatabaseConfig,
    cache: ExpectedCache,
    keep_connection: bool,
    /// The connection kept between checks, when `keep_connection`.
    kept: Option<Result<Pool, String>>,
    snapshot: Arc<Snapshot>,
    slots: Slots,
    stop: watch::Receiver<bool>,
    /// The next phase instant.
    phase: Instant,
    /// A first check has been recorded.
    checked: bool,
}

impl Poller {
    /// Waits for the due check's slots, marking the check overdue after its timeout; `None`
    /// once told to stop.
    async fn slots_or_overdue(&mut self) -> Option<Held> {
        let db = &self.db;
        let mut acquire = Box::pin(self.slots.acquire());
        let held = tokio::select! {
            biased;
            _ = self.stop.changed() => return None,
            held = &mut acquire => held,
            // The first round at start is a burst by design, and a database never checked is
            // pending, not late: only later checks can be overdue.
            _ = tokio::time::sleep(db.timeout), if self.checked => {
                // Every slot is still busy a whole timeout after this check came due: what this
                // database reports is going stale, and says so until a check is recorded.
                tracing::warn!(database = %db.name, timeout = %humantime::format_duration(db.timeout), "check overdue: no free check slot");
                let (shared, name) = (self.snapshot.clone(), db.name.clone());
                let _ = tokio::task::spawn_blocking(move || shared.mark_overdue(&name)).await;
                tokio::select! {
                    _ = self.stop.changed() => return None,
                    held = &mut acquire => held,
                }
            }
        };
        held
    }

    /// One due check with its slots held: check, record. Returns when the next check is due, or
    /// `None` once told to stop.
    async fn turn(&mut self, held: Held) -> Option<Instant> {
        let db = &self.db;
        let pool = match self.kept.take() {
            Some(pool) => pool,
            None => pool_for(db),
        };
        let outcome = match &pool {
            Ok(pool) => {
                tokio::select! {
                    _ = self.stop.changed() => return None,
                    outcome = run_check(db, pool, &mut self.cache) => outcome,
                }
            }
            Err(e) => CheckOutcome::failed(CheckError::Options(e.clone())),
        };
        if self.keep_connection {
            self.kept = Some(pool);
        } else {
            // Between checks nothing is held: no session on the server, and for SQLite no thread
            // and no file descriptor, so a fleet costs what its concurrent checks cost.
            // Bounded: closing waits for connections still out, and one stuck in a frozen
            // server must not keep the slots or the outcome.
            let close = async {
                if let Ok(pool) = pool {
                    pool.close().await;
                }
                self.cache.close_connections().await;
            };
            let _ = tokio::time::timeout(db.timeout, close).await;
        }
        drop(held);
        self.checked = true;
        log_outcome(db, &self.snapshot, &outcome);
        // Recording renders this database's series: off the async workers, like the check.
        let (shared, name) = (self.snapshot.clone(), db.name.clone());
        if tokio::task::spawn_blocking(move || {
            shared.record(&name, outcome);
            release_freed_memory();
        })
        .await
        .is_err()
        {
            tracing::error!(database = %db.name, "recording the check outcome failed");
        }
        // A check that ran past its phase skips that turn rather than running twice in a row.
        let now = Instant::now();
        while self.phase <= now {
            self.phase += db.interval;
        }
        Some(self.phase)
    }

    /// Closes whatever connections are kept.
    async fn close(mut self) {
        let timeout = self.db.timeout;
        let close = async {
            if let Some(Ok(pool)) = self.kept.take() {
                pool.close().await;
            }
            self.cache.close_connections().await;
        };
        let _ = tokio::time::timeout(timeout, close).await;
    }
}

/// Returns the memory a check freed to the operating system. A check allocates about twice what it
/// keeps (the live catalog, the parse of a changed expectation), on whichever blocking thread ran
/// it, and glibc keeps such freed pages in that thread's arena: at 10,000 tables that was 44 MiB of
/// resident memory holding nothing. Other allocators and platforms return memory by themselves.
/// At most once a second: trimming walks every arena, and a fleet records a check every few
/// milliseconds (trimming after each one cost more CPU than the checks).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if LAST.swap(now, Ordering::Relaxed) != now {
            // SAFETY: malloc_trim only walks glibc's own arenas; it takes no pointers of ours.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }
}

/// Makes glibc map buffers of a mebibyte or more on their own, so freeing one (the previous
/// publish's bodies: 20 MiB for 10,000 databases) returns it to the system at once. By default
/// glibc raises that threshold as such buffers are freed, after which they are carved from the
/// heap and their pages stay resident after use.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a glibc tunable.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn log_outcome(db: &DatabaseConfig, snapshot: &Snapshot, outcome: &CheckOutcome) {
    let previous = snapshot.with_state(|state| {
        state
            .databases
            .get(&db.name)
            .and_then(|d| d.report.as_ref().map(|r| r.items.len()))
    });
    match &outcome.result {
        Err(e) => tracing::warn!(database = %db.name, error = %e, "check failed"),
        Ok(c) if previous != Some(c.report.items.len()) => tracing::info!(
            database = %db.name,
            drift_items = c.report.items.len(),
            duration_ms = outcome.duration.as_millis() as u64,
            "drift changed"
        ),
        Ok(c) => {
            tracing::debug!(database = %db.name, drift_items = c.report.items.len(), "check done")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wall clock phases are found from in these tests: fixed, so each phase is known.
    const WALL: SystemTime = SystemTime::UNIX_EPOCH;

    /// What a scheduling test runs on.
    struct Fixture {
        _dir: tempfile::TempDir,
        config: Config,
        snapshot: Arc<Snapshot>,
        slots: CheckSlots,
    }

    /// A config of `databases` (name, host, interval, timeout) under the top-level keys `head`,
    /// whose URLs cannot make a pool: their checks do no I/O and fail at once, so what a test
    /// measures is the scheduling alone.
    fn fixture(head: &str, databases: &[(&str, &str, &str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.yaml"), "tables: {}\n").unwrap();
        let mut text = format!("{head}databases:\n");
        for (name, host, interval, timeout) in databases {
            text.push_str(&format!("  - name: {name}\n    url: postgres://u@{host}/db?sslmode=no-such-mode\n    interval: {interval}\n    timeout: {timeout}\n    expected: {{file: e.yaml}}\n"));
        }
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, text).unwrap();
        let config = crate::config::load(&path).unwrap();
        Fixture {
            snapshot: Arc::new(Snapshot::new(&config)),
            slots: CheckSlots::for_config(&config),
            config,
            _dir: dir,
        }
    }

    fn checks(snapshot: &Snapshot, name: &str) -> u64 {
        snapshot.with_state(|s| s.databases[name].checks_total)
    }

    /// Paused time: the clock moves only when every task waits on a timer, so an hour of intervals
    /// runs in milliseconds and exactly; the wall clock the phases come from is fixed.
    #[tokio::test(start_paused = true)]
    async fn each_database_is_checked_at_start_then_once_per_interval_at_its_own_phase() {
        let Fixture {
            config,
            snapshot,
            slots,
            ..
        } = fixture(
            "",
            &[("often", "db", "1m", "5s"), ("rarely", "db", "10m", "5s")],
        );
        assert!(!snapshot.published().ready, "ready before any check");
        let wall = WALL;
        let start = Instant::now();
        let pollers = Pollers::start_with(&config, snapshot.clone(), &slots, wall);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            (checks(&snapshot, "often"), checks(&snapshot, "rarely")),
            (1, 1),
            "first checks are immediate"
        );
        snapshot.publish();
        assert!(snapshot.published().ready);
        let error = snapshot.with_state(|s| {
            let last = s.databases["often"].last_check.as_ref();
            last.and_then(|c| c.error.clone())
        });
        assert!(error.unwrap().contains("invalid connection options"));

        // After the first, a database's checks fall exactly on its phase, then every interval:
        // seen just before and just after each phase instant of both databases.
        let databases = [
            ("often", Duration::from_secs(60)),
            ("rarely", Duration::from_secs(600)),
        ];
        let expected = |name: &str, interval: Duration, at: Duration| {
            let phase = next_due(name, interval, wall);
            1 + if at < phase {
                0
            } else {
                1 + ((at - phase).as_millis() / interval.as_millis()) as u64
            }
        };
        let mut moments = Vec::new();
        for (name, interval) in databases {
            let phase = next_due(name, interval, wall);
            for k in 0..3 {
                let instant = phase + k * interval;
                moments.push(instant - Duration::from_millis(5));
                moments.push(instant + Duration::from_millis(5));
            }
        }
        moments.sort();
        for at in moments {
            tokio::time::sleep_until(start + at).await;
            for (name, interval) in databases {
                assert_eq!(
                    checks(&snapshot, name),
                    expected(name, interval, at),
                    "{name} at {at:?}"
                );
            }
        }
        pollers.stop().await;
        let stopped = checks(&snapshot, "often");
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(
            checks(&snapshot, "often"),
            stopped,
            "a stopped poller checks no more"
        );
    }

    /// A fleet holds one poller per database, nearly always asleep: its task must stay small
    /// (the check's own state lives in a box only while it runs). It was 6.4 KiB.
    #[test]
    fn a_sleeping_poller_costs_under_a_kibibyte() {
        let Fixture {
            config,
            snapshot,
            slots,
            ..
        } = fixture("", &[("app", "db", "1m", "5s")]);
        let (_stop, stopped) = watch::channel(false);
        let future = poll(Box::new(Poller {
            phase: Instant::now(),
            db: config.databases[0].clone(),
            cache: ExpectedCache::default(),
            keep_connection: false,
            kept: None,
            snapshot,
            slots: slots.for_database(&config.databases[0]),
            stop: stopped,
            checked: false,
        }));
        let size = std::mem::size_of_val(&future) + std::mem::size_of::<Poller>();
        assert!(size < 1024, "a poller's future and state are {size} bytes");
    }

    #[test]
    fn phases_are_stable_and_spread_evenly_over_the_interval() {
        let interval = Duration::from_secs(60);
        let wall = WALL;
        assert_eq!(
            next_due("app", interval, wall),
            next_due("app", interval, wall)
        );
        // A second later the same phase is a second closer.
        let later = next_due("app", interval, wall + Duration::from_secs(1));
        let now = next_due("app", interval, wall);
        if now > Duration::from_secs(1) {
            assert_eq!(later, now - Duration::from_secs(1));
        }
        // 6,000 databases over ten 6-second buckets: each gets about a tenth.
        let mut buckets = [0u32; 10];
        for i in 0..6000 {
            let wait = next_due(&format!("tenant_{i}"), interval, wall);
            assert!(wait > Duration::ZERO && wait <= interval);
            buckets[(wait.as_millis() / 6000).min(9) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| (480..=720).contains(b)),
            "{buckets:?}"
        );
    }

    /// While every slot is held, a due check is marked overdue after its timeout (series and
    /// `/drift` say so), and the mark goes once the check has run. A database waiting for its
    /// first check is pending, never overdue.
    #[tokio::test(start_paused = true)]
    async fn a_check_that_cannot_start_within_its_timeout_is_overdue_until_it_runs() {
        let Fixture {
            config,
            snapshot,
            slots,
            ..
        } = fixture("max_concurrent_checks: 2\n", &[("app", "db", "1m", "5s")]);
        let wall = WALL;
        let overdue = |snapshot: &Snapshot| snapshot.with_state(|s| s.databases["app"].overdue);
        let metrics = |snapshot: &Snapshot| {
            snapshot.publish();
            String::from_utf8(snapshot.published().metrics.identity.to_vec()).unwrap()
        };

        // The first round: slots held for longer than the timeout, and still only pending.
        let busy = slots.global.clone().acquire_many_owned(2).await.unwrap();
        let start = Instant::now();
        let pollers = Pollers::start_with(&config, snapshot.clone(), &slots, wall);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(!overdue(&snapshot), "a first check is pending, not overdue");
        drop(busy);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(checks(&snapshot, "app"), 1);

        // The next check falls due at the phase with every slot held.
        let phase = next_due("app", Duration::from_secs(60), wall);
        let busy = slots.global.clone().acquire_many_owned(2).await.unwrap();
        tokio::time::sleep_until(start + phase + Duration::from_millis(4900)).await;
        assert!(!overdue(&snapshot), "overdue before its timeout");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            overdue(&snapshot),
            "not overdue a timeout after it came due"
        );
        assert_eq!(checks(&snapshot, "app"), 1);
        let body = metrics(&snapshot);
        assert!(
            body.contains("schema_check_overdue{database=\"app\"} 1\n"),
            "{body}"
        );
        let drift = String::from_utf8(snapshot.published().drift.identity.to_vec()).unwrap();
        assert!(drift.contains("\"overdue\":true"), "{drift}");

        drop(busy);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(checks(&snapshot, "app"), 2);
        assert!(!overdue(&snapshot), "still overdue after its check ran");
        let body = metrics(&snapshot);
        assert!(
            body.contains("schema_check_overdue{database=\"app\"} 0\n"),
            "{body}"
        );
        assert!(
            body.contains("schema_check_overdue_total{database=\"app\"} 1\n"),
            "{body}"
        );
        pollers.stop().await;

        // After a reload the database already reports something: its first check in the new
        // generation can be overdue too.
        let busy = slots.global.clone().acquire_many_owned(2).await.unwrap();
        let pollers = Pollers::start_with(&config, snapshot.clone(), &slots, wall);
        tokio::time::sleep(Duration::from_millis(5100)).await;
        assert!(
            overdue(&snapshot),
            "a reloaded database's first check was not overdue"
        );
        drop(busy);
        pollers.stop().await;
    }

    /// A server whose checks hang holds its own slots only: a database on another server keeps
    /// its schedule while every check of the first one waits.
    #[tokio::test(start_paused = true)]
    async fn a_stuck_server_holds_only_its_own_slots() {
        let Fixture {
            config,
            snapshot,
            slots,
            ..
        } = fixture(
            "max_concurrent_checks: 4\nmax_concurrent_checks_per_server: 1\n",
            &[
                ("a1", "stuck:5432", "1m", "5s"),
                ("a2", "stuck:5432", "1m", "5s"),
                ("b", "healthy:5432", "1m", "5s"),
            ],
        );
        let stuck = slots.servers["stuck:5432"]
            .clone()
            .acquire_owned()
            .await
            .unwrap();
        let pollers = Pollers::start_with(&config, snapshot.clone(), &slots, WALL);
        tokio::time::sleep(Duration::from_secs(6)).await;
        let state = |n: &str| {
            snapshot.with_state(|s| (s.databases[n].checks_total, s.databases[n].overdue))
        };
        assert_eq!(state("a1"), (0, false));
        assert_eq!(state("a2"), (0, false));
        let (b_checks, b_overdue) = state("b");
        assert!(
            b_checks >= 1 && !b_overdue,
            "the healthy server's database waited: {b_checks} checks, overdue {b_overdue}"
        );
        drop(stuck);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!((state("a1").0, state("a2").0), (1, 1));
        pollers.stop().await;
    }
}
