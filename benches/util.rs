//! Measurement helpers shared by the benches.
#![allow(dead_code)] // each bench uses a different part

use std::time::Duration;

/// Peak resident set size of this process, from /proc (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `min, median, max over N runs`, in milliseconds.
pub fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms over {} runs",
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(*samples.last().unwrap()),
        samples.len()
    )
}
