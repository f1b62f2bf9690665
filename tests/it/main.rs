//! The integration tests, as one test binary: one link for every suite instead of one per suite.
//! Each suite is a module, so `cargo test --test it postgres::` runs one suite and
//! `cargo test --test it seed_incident` one scenario on every engine.

mod common;

mod cli;
mod ddl;
mod deploy;
mod enums;
mod fixes;
mod fleet;
mod indexes;
mod ledger;
mod monitoring;
mod mysql;
mod page;
mod postgres;
mod probe;
mod properties;
mod scenarios;
mod scrape;
mod sqlite;
mod tenants;
mod web;
