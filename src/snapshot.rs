//! The only state shared between the pollers (writers) and HTTP (readers), and every response body
//! HTTP serves, rendered once per change.
//!
//! When a check outcome is recorded (or the config reloaded), that database's pieces are rendered
//! at once: its series, its `/drift` entry and its landing-page row. A publisher task then joins
//! every database's pieces into whole bodies, compresses them, and swaps them in as one immutable
//! [`Published`]; changes that arrive while it works are coalesced into its next round. A scrape
//! clones an `Arc` and writes bytes that already exist: it never renders, never compresses, never
//! touches a database, and many clients share one buffer however slowly they read.

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{watch, Notify};

use crate::check::CheckOutcome;
use crate::config::Config;
use crate::metrics::{self, DatabaseSeries, ExporterSeries};
use crate::report;
use crate::shard::{Fleet, Shard};
use crate::state::State;

/// A publish that took `d` is followed by a pause of `d` times this before the next one.
pub const PUBLISH_SPACING: u32 = 10;
/// Shortest pause between publishes: a fleet's checks, spread over the interval, each change
/// the state; a quarter second of coalescing turns dozens of publishes into one.
pub const MIN_PUBLISH_DELAY: std::time::Duration = std::time::Duration::from_millis(250);
/// Longest pause between publishes, whatever a publish took.
pub const MAX_PUBLISH_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// One response body in the encodings we serve, both prepared when it was rendered.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// The body as is.
    pub identity: Bytes,
    /// The body gzip-compressed, for clients that send `Accept-Encoding: gzip`.
    pub gzip: Bytes,
}

impl Encoded {
    /// Prepares both encodings of `body`. The fastest compression level: the exposition is
    /// repetitive text that compresses about tenfold even so, and rendering stays cheap.
    pub fn new(body: String) -> Encoded {
        let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::fast());
        // Writing into memory cannot fail.
        let gzip = gz.write_all(body.as_bytes()).and_then(|_| gz.finish());
        Encoded {
            gzip: Bytes::from(gzip.expect("gzip into memory")),
            identity: Bytes::from(body),
        }
    }
}

/// Every body HTTP serves, as of one publish.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// `/metrics`.
    pub metrics: Encoded,
    /// `/drift`: every database.
    pub drift: Encoded,
    /// `/drift?database=NAME`, by name.
    pub drift_by_database: HashMap<String, Encoded>,
    /// `/`.
    pub landing: Encoded,
    /// `/sd`: every configured database as Prometheus HTTP service discovery targets.
    pub discovery: Encoded,
    /// Every configured database has had its first check attempted (`/-/ready`).
    pub ready: bool,
}

/// One database's pieces of the published bodies, rendered when its outcome was recorded.
#[derive(Debug, Clone)]
struct Pieces {
    series: DatabaseSeries,
    /// Its `/drift` entry as a JSON object, to be joined with the others.
    drift_entry: String,
    /// Its own `/drift?database=` document.
    drift: Encoded,
    landing_row: String,
}

struct Inner {
    state: State,
    pieces: HashMap<String, Pieces>,
    fleet: Fleet,
    /// `fleet.discovery`, compressed once per config.
    discovery: Encoded,
}

/// What `/probe?target=NAME` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The database's series.
    Series(String),
    /// Configured, but polled by the replica of this shard index.
    Elsewhere(u64),
    /// No database of that name is configured.
    Unknown,
}

/// Shared handle to the [`State`] and the bodies rendered from it.
pub struct Snapshot {
    inner: RwLock<Inner>,
    published: RwLock<Arc<Published>>,
    /// Signalled on every change; holds one permit, so changes made during a publish coalesce.
    changed: Notify,
    renders: AtomicU64,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("renders", &self.renders)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// State for a freshly loaded config, every database pending, already published once so the
    /// first scrape has something to read.
    pub fn new(config: &Config) -> Snapshot {
        let mut inner = Inner {
            state: State::new(config),
            pieces: HashMap::new(),
            fleet: Fleet::new(config, Shard::default()),
            discovery: Encoded::default(),
        };
        inner.discovery = Encoded::new(inner.fleet.discovery.clone());
        inner.render_all();
        let s = Snapshot {
            inner: RwLock::new(inner),
            published: RwLock::new(Arc::default()),
            changed: Notify::new(),
            renders: AtomicU64::new(0),
        };
        s.publish();
        s
    }

    /// Adopts a new config: databases no longer configured disappear (and with them their series),
    /// new ones start pending, and the ones that stay keep their history and counters.
    pub fn apply_config(&self, config: &Config) {
        let mut inner = self.write();
        inner.state.apply_config(config);
        inner.render_all();
        drop(inner);
        self.changed.notify_one();
    }

    /// Records a check outcome for `name` (ignored if the database was removed meanwhile) and
    /// renders that database's pieces. Grows with the database's drift: call it off the async
    /// workers. Takes the outcome by value: the report moves into the state, never copied.
    pub fn record(&self, name: &str, outcome: CheckOutcome) {
        self.change(name, |state| state.record(name, outcome));
    }

    /// Marks `name`'s due check as overdue (see [`crate::state::DatabaseState::overdue`]) and
    /// renders its pieces.
    pub fn mark_overdue(&self, name: &str) {
        self.change(name, |state| state.mark_overdue(name));
    }

    /// Applies `f` to the state; when it says `name` changed, renders that database's pieces
    /// and signals the publisher.
    fn change(&self, name: &str, f: impl FnOnce(&mut State) -> bool) {
        let mut inner = self.write();
        if f(&mut inner.state) {
            inner.render(name);
            drop(inner);
            self.changed.notify_one();
        }
    }

    /// Adopts what this replica knows of the whole configuration (its shard, `/sd`); the state
    /// itself holds only the databases this replica polls.
    pub fn set_fleet(&self, fleet: Fleet) {
        let discovery = Encoded::new(fleet.discovery.clone());
        let mut inner = self.write();
        inner.fleet = fleet;
        inner.discovery = discovery;
        drop(inner);
        self.changed.notify_one();
    }

    /// `/probe?target=NAME`: the database's series as `/metrics` has them, joined from the pieces
    /// rendered when its outcome was recorded (a copy of a few kilobytes; nothing is checked).
    pub fn probe(&self, name: &str) -> Probe {
        let inner = self.read();
        match inner.pieces.get(name) {
            Some(p) => Probe::Series(metrics::probe(&p.series, inner.state.detail_series_limit)),
            None => match inner.fleet.elsewhere.get(name) {
                Some(bucket) => Probe::Elsewhere(*bucket),
                None => Probe::Unknown,
            },
        }
    }

    /// Records whether a reload succeeded.
    pub fn set_reload_ok(&self, ok: bool) {
        self.write().state.reload_ok = ok;
        self.changed.notify_one();
    }

    /// Runs `f` on the current state (for `check`'s report and log lines). Writers wait meanwhile.
    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.read().state)
    }

    /// The bodies to serve now: a clone of an `Arc`, whatever the size of the schemas.
    pub fn published(&self) -> Arc<Published> {
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Joins every database's pieces into the bodies HTTP serves and swaps them in. Grows with the
    /// size of the bodies: [`Snapshot::publish_on_change`] runs it off the async workers.
    pub fn publish(&self) {
        let renders = self.renders.fetch_add(1, Ordering::Relaxed) + 1;
        let inner = self.read();
        let state = &inner.state;
        let pieces: Vec<&Pieces> = state
            .databases
            .keys()
            .filter_map(|name| inner.pieces.get(name))
            .collect();
        let exporter = ExporterSeries {
            reload_ok: state.reload_ok,
            detail_series_limit: state.detail_series_limit,
            renders,
            shard: inner.fleet.shard,
        };
        let metrics = metrics::exposition(pieces.iter().map(|p| &p.series), exporter);
        let entries: Vec<&str> = pieces.iter().map(|p| p.drift_entry.as_str()).collect();
        let drift = report::drift_json(&entries);
        let rows: String = pieces.iter().map(|p| p.landing_row.as_str()).collect();
        let drift_by_database = state
            .databases
            .keys()
            .filter_map(|n| Some((n.clone(), inner.pieces.get(n)?.drift.clone())))
            .collect();
        let ready = state.ready();
        let discovery = inner.discovery.clone();
        // Compression is the costly part: done after the lock is released, so recording the next
        // outcome does not wait for it.
        drop(inner);
        let published = Published {
            metrics: Encoded::new(metrics),
            drift: Encoded::new(drift),
            drift_by_database,
            landing: Encoded::new(report::landing_page(&rows)),
            discovery,
            ready,
        };
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(published);
    }

    /// Publishes after every change until `stop` turns true; changes made while a publish runs
    /// are picked up by the next one. After a publish that took `d`, the next waits `d` times
    /// [`PUBLISH_SPACING`], between [`MIN_PUBLISH_DELAY`] and [`MAX_PUBLISH_DELAY`]: a fleet
    /// records a check outcome every few milliseconds, and joining and compressing its bodies
    /// after each one kept a core busy; spaced, publishing costs at most a tenth of one. The
    /// first change after a quiet spell is published at once.
    pub async fn publish_on_change(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = self.changed.notified() => {}
            }
            let me = self.clone();
            let started = tokio::time::Instant::now();
            if tokio::task::spawn_blocking(move || me.publish())
                .await
                .is_err()
            {
                tracing::error!(
                    "publishing the rendered metrics failed; serving the previous ones"
                );
            }
            let pause =
                (started.elapsed() * PUBLISH_SPACING).clamp(MIN_PUBLISH_DELAY, MAX_PUBLISH_DELAY);
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state half-written in a way readers care
        // about (every write is a plain field assignment), so a poisoned lock is still usable.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Renders every database's pieces and forgets those of databases no longer configured.
    fn render_all(&mut self) {
        let names: Vec<String> = self.state.databases.keys().cloned().collect();
        self.pieces
            .retain(|name, _| self.state.databases.contains_key(name));
        for name in names {
            self.render(&name);
        }
    }

    fn render(&mut self, name: &str) {
        let Some(db) = self.state.databases.get(name) else {
            return;
        };
        let view = report::DatabaseDrift::new(name, db);
        let drift_entry =
            serde_json::to_string(&view).expect("the drift document always serialises");
        let pieces = Pieces {
            series: DatabaseSeries::render(name, db, self.state.table_series),
            drift: Encoded::new(report::drift_json(&[drift_entry.as_str()])),
            drift_entry,
            landing_row: report::landing_row(&view),
        };
        self.pieces.insert(name.to_string(), pieces);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn renders(snapshot: &Snapshot) -> u64 {
        snapshot.renders.load(Ordering::Relaxed)
    }

    /// Changes arriving every 10 ms for 2 s (a fleet recording its checks) are published at most
    /// once per [`MIN_PUBLISH_DELAY`], and the last change is still published.
    #[tokio::test(start_paused = true)]
    async fn a_stream_of_changes_is_published_spaced_and_the_last_one_is_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "databases:\n  - name: a\n    url: sqlite:a.db\n    expected: {file: e.yaml}\n",
        )
        .unwrap();
        let snapshot = Arc::new(Snapshot::new(&crate::config::load(&path).unwrap()));
        let (stop, stopped) = watch::channel(false);
        let publisher = tokio::spawn(snapshot.clone().publish_on_change(stopped));
        let before = renders(&snapshot);
        for i in 0..200 {
            snapshot.set_reload_ok(i % 2 == 1);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let published = renders(&snapshot) - before;
        let most = (Duration::from_secs(2).as_millis() / MIN_PUBLISH_DELAY.as_millis()) as u64 + 1;
        assert!(
            (1..=most).contains(&published),
            "{published} publishes for 200 changes"
        );
        // The last change (reload_ok true) reaches the published bodies once the pause is over.
        tokio::time::sleep(MAX_PUBLISH_DELAY).await;
        let body = snapshot.published().metrics.identity.clone();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("schema_exporter_config_last_reload_successful 1\n"),
            "{text}"
        );
        let _ = stop.send(true);
        publisher.await.unwrap();
    }
}
