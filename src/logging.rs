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

/// Writes tracing-logfmt's lines with the message under `msg=`, the key Prometheus' tools (go-kit
/// log) use and `--help` promises; the library names it `message=` and has no option for it. Each
/// event arrives as one write of whole lines, whose keys come in a fixed order (`ts`, `level`,
/// then the message before any field), so the first ` message=` of a line is the key: a field value
/// holding that text comes after it, and is quoted.
struct MsgKey<W>(W);

impl<W: std::io::Write> std::io::Write for MsgKey<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len());
        for line in buf.split_inclusive(|b| *b == b'\n') {
            match find(line, b" message=") {
                Some(at) => {
                    out.extend_from_slice(&line[..at]);
                    out.extend_from_slice(b" msg=");
                    out.extend_from_slice(&line[at + b" message=".len()..]);
                }
                None => out.extend_from_slice(line),
            }
        }
        self.0.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
            .with_target(false)
            .layer()
            .with_writer(|| MsgKey(std::io::stderr()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_message_key_is_msg_and_a_field_holding_the_text_is_left_alone() {
        let mut out = MsgKey(Vec::new());
        out.write_all(b"ts=1 level=info message=\"drift changed\" note=\"a message=b\"\nts=2 level=warn message=x\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "ts=1 level=info msg=\"drift changed\" note=\"a message=b\"\nts=2 level=warn msg=x\n"
        );
    }
}
