//! schema_exporter: watches databases for schema drift and exports it as Prometheus metrics.
//!
//! # Layout
//!
//! The data path, in the order a check walks it:
//!
//! 1. [`config`]: the YAML file, parsed strictly and validated into [`config::Config`]; secrets
//!    resolved into [`secret::DatabaseUrl`], which never prints its password.
//! 2. [`expected`]: where the expected schema comes from (one file per source), read each check and
//!    parsed again only when it changed.
//! 3. [`engine`]: the per-engine seam (one file per engine): lazy read-only pools and one catalog
//!    round trip per check. [`normalize`] turns every engine's type and default spellings into one
//!    canonical form; [`model`] holds the schema types both sides share.
//! 4. [`diff`]: pure comparison into [`diff::DriftReport`], each item with the SQL that fixes it.
//! 5. [`check`]: one bounded check (expectation + catalog + diff), shared by the daemon and `check`.
//! 6. [`poller`]: one task per database on its interval, under a global concurrency cap, writing to
//! 7. [`snapshot`]: the only shared state, from which
//! 8. [`metrics`], [`report`] and [`http`] render `/metrics`, `/drift` and the landing page at
//!    request time, so no scrape ever waits on a database.
//!
//! [`app`] wires it together for each command of [`cli`]; [`demo`] builds the demo database;
//! [`healthcheck`] is the container's probe of a running exporter.

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
