//! Log setup: logfmt (default) or JSON on stderr, filtered by `--log.level`.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `ts=… level=info msg="…" key=value`, as Prometheus' own tools log.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. `level` is one of debug, info, warn, error.
pub fn init(level: &str, format: LogFormat) {
    // Only our own crate logs at the chosen level; libraries (sqlx logs every statement at info)
    // stay at warn so the daemon's log is about drift, not plumbing.
    let filter = EnvFilter::new(format!("warn,schema_exporter={level}"));
    let layer = match format {
        LogFormat::Logfmt => tracing_logfmt::builder()
            .with_span_name(false)
            .with_span_path(false)
            .layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init();
}
