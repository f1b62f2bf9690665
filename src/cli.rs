//! Command-line interface (Prometheus-style dotted long flags).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use crate::logging::LogFormat;

/// Default listen address, as documented in the product contract.
pub const DEFAULT_LISTEN: &str = ":9713";

/// Watches databases for schema drift and exports it as Prometheus metrics.
#[derive(Debug, Parser)]
#[command(
    name = "schema_exporter",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without a command, `serve` runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, accepted without the word `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Logging flags, accepted by every command.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the exporter daemon (the default).
    Serve(ServeArgs),
    /// Serve a throwaway SQLite database that reproduces the export_logs incident.
    Demo(DemoArgs),
    /// Check once and exit: 0 in sync, 1 drift found, 2 could not check.
    Check(CheckArgs),
    /// Write a database's live schema (or, with --expected, its resolved expectation) as an
    /// expected-schema file.
    Snapshot(SnapshotArgs),
    /// Load the config and every expected schema (reference databases are not contacted); report
    /// every problem (exit 0 or 2).
    Validate(ValidateArgs),
    /// Ask a running exporter whether it is healthy (exit 0 or 1); the container's health check.
    Healthcheck(HealthcheckArgs),
    /// Read a password from stdin and print its bcrypt hash, for `basic_auth_users` in the web
    /// configuration.
    HashPassword(HashPasswordArgs),
}

/// Flags of `hash-password`.
#[derive(Debug, Args)]
pub struct HashPasswordArgs {
    /// bcrypt cost: each step doubles the work of every login that is not cached.
    #[arg(long = "cost", default_value_t = 10, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub cost: u32,
}

/// Flags of the daemon.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (YAML).
    #[arg(long = "config.file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on: `:9713`, `127.0.0.1:9713`, `[::]:9713`; port 0 picks a free port.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen_address: String,
    /// Enable `POST /-/reload` (SIGHUP always reloads).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// Web configuration (TLS, client certificates, basic auth, headers, rate limit), in the
    /// schema of prometheus/exporter-toolkit; re-read when it or a certificate file changes.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
    /// This replica's shard, 0 to `--shard.total` - 1: it polls only the databases whose name
    /// Prometheus' `hashmod` puts in this bucket.
    #[arg(long = "shard.index", value_name = "I", default_value_t = 0)]
    pub shard_index: u64,
    /// Replicas sharing the configuration; changing it moves most databases to another replica.
    #[arg(long = "shard.total", value_name = "N", default_value_t = 1)]
    pub shard_total: u64,
}

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen_address: String,
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// The `/drift` document, for tools.
    Json,
}

/// Flags of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Configuration file (YAML).
    #[arg(long = "config.file", value_name = "PATH")]
    pub config_file: PathBuf,
    /// Check only this configured database.
    #[arg(long = "database", value_name = "NAME")]
    pub database: Option<String>,
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "text")]
    pub output: Output,
}

/// Flags of `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Database to read: postgres://user@host/db, mysql://user@host/db or sqlite:app.db (env: SCHEMA_EXPORTER_DATABASE_URL).
    #[arg(
        long = "database-url",
        value_name = "URL",
        env = "SCHEMA_EXPORTER_DATABASE_URL",
        hide_env_values = true,
        conflicts_with = "config_file"
    )]
    pub database_url: Option<String>,
    /// Configuration file naming the database (with --database).
    #[arg(long = "config.file", value_name = "PATH", requires = "database")]
    pub config_file: Option<PathBuf>,
    /// Configured database to read.
    #[arg(long = "database", value_name = "NAME", requires = "config_file")]
    pub database: Option<String>,
    /// Print the expectation the exporter resolved for --database (from its file, SQL or reference)
    /// instead of the live schema.
    #[arg(long = "expected", requires = "database", conflicts_with = "schema")]
    pub expected: bool,
    /// Schema to include (repeatable); default: the configured ones, or the engine's default.
    #[arg(long = "schema", value_name = "S")]
    pub schema: Vec<String>,
    /// Give up reading after this long (default: the database's configured timeout, or 10s with
    /// --database-url). Large MySQL/MariaDB catalogs can need more.
    #[arg(long = "timeout", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Configuration file (YAML).
    #[arg(long = "config.file", value_name = "PATH")]
    pub config_file: PathBuf,
    /// Web configuration file to check as well (what `promtool check web-config` checks, plus
    /// what rustls cannot do).
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
}

/// Flags of `healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Address the exporter listens on; wildcard addresses are probed over loopback.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen_address: String,
    /// Endpoint to ask (`/-/ready` waits for every database's first check).
    #[arg(long = "path", default_value = "/-/healthy")]
    pub path: String,
    /// Give up after this long.
    #[arg(long = "timeout", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// The exporter's web configuration: with TLS the probe speaks HTTPS and trusts exactly the
    /// certificate the file names; with basic auth, a 401 answer counts as alive.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
}

/// Logging flags.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages at or above this level.
    #[arg(long = "log.level", global = true, default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub level: String,
    /// Log format.
    #[arg(
        long = "log.format",
        global = true,
        value_enum,
        default_value = "logfmt"
    )]
    pub format: LogFormat,
}
