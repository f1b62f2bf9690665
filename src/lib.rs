//! schema_exporter: watches databases for schema drift and exports it as Prometheus metrics.
//!
//! # Layout
//!
//! The data path, in the order a check walks it:
//!
//! 1. [`config`]: the YAML file, parsed strictly and validated into [`config::Config`] (a
//!    `reference:` already resolved to the database it names); secrets resolved into
//!    [`secret::DatabaseUrl`], which never prints its password.
//! 2. [`expected`]: where the expected schema comes from (one file per source), read each check and
//!    parsed again only when it changed.
//! 3. [`engine`]: the I/O seam (one file per engine): lazy read-only pools, one catalog round trip
//!    per check, and the SQL that renders a [`model::Change`] in the engine's dialect.
//! 4. [`diff`]: pure comparison into [`diff::Comparison`], each item carrying the change that would
//!    remove it and no SQL.
//! 5. [`check`]: one bounded check (expectation + catalog + diff, then each change rendered once by
//!    the engine into a [`check::DriftReport`]), shared by the daemon and `check`.
//! 6. [`poller`]: one task per database on its interval, under a global concurrency cap, writing to
//! 7. [`snapshot`]: the only shared state, from which
//! 8. [`metrics`], [`report`] and [`http`] render `/metrics`, `/drift` and the landing page at
//!    request time, so no scrape ever waits on a database.
//!
//! Underneath, the pure vocabulary every layer shares, each importing only what is listed before it:
//! [`dialect`] (which engine: name, identifier folding, namespaces), [`normalize`] (every engine's
//! type and default spellings to one canonical form), [`model`] (tables, columns, changes) and
//! [`ignore`] (what not to compare). The module graph has no cycles:
//! `dialect <- normalize <- model <- diff`; `model + dialect <- engine`;
//! `diff, engine, expected <- check <- poller <- app`.
//!
//! [`app`] wires it together for each command of [`cli`] and returns one [`app::Error`] type that
//! `main.rs` prints once; the daemon ([`app::serve`]) takes a bound listener and a shutdown future.
//! [`demo`] builds the demo database; [`healthcheck`] is the container's probe of a running
//! exporter.

pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod diff;
pub mod engine;
pub mod expected;
pub mod healthcheck;
pub mod http;
pub mod ignore;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod poller;
pub mod report;
pub mod secret;
pub mod snapshot;
