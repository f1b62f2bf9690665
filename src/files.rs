//! Reading the operator's files (config, secrets, expectations) with a size limit, so a wrong
//! path (`/dev/zero`, a FIFO, a log file) is an error and not a hang or an exhausted machine.

use std::io::Read;
use std::path::Path;

/// Largest secret file (`password_file`, `url_file`): a password or URL is never this long.
pub const MAX_SECRET_BYTES: u64 = 64 << 10;

/// Largest expectation file (YAML or SQL, each file of a migration directory): 512 MiB, several
/// times a 50,000-table schema (about 70 MB of YAML).
pub const MAX_EXPECTED_BYTES: u64 = 512 << 20;

/// Reads `path` as UTF-8 text of at most `limit` bytes. Only regular files are opened (following
/// symlinks): opening a FIFO would wait for a writer forever, and a device never ends.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The length can change between the stat and the read (a file being written); the limit holds
    // for what is read, not for what was announced.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = position(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        format!("line {line}, column {column}: not valid UTF-8")
    })
}

fn too_large(limit: u64) -> String {
    if limit >= 1 << 20 {
        format!("larger than the limit of {} MiB", limit >> 20)
    } else {
        format!("larger than the limit of {} KiB", limit >> 10)
    }
}

/// 1-based line and column (in characters) just after `before`.
pub fn position(before: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(before);
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "hello\n").unwrap();
        assert_eq!(read_text(&ok, 6).unwrap(), "hello\n");
        assert_eq!(
            read_text(&ok, 5).unwrap_err(),
            "larger than the limit of 0 KiB"
        );
        assert_eq!(
            read_text(dir.path(), 100).unwrap_err(),
            "not a regular file"
        );
        // Devices and FIFOs are refused before they are opened: neither hangs.
        assert_eq!(
            read_text(Path::new("/dev/zero"), 100).unwrap_err(),
            "not a regular file"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(read_text(&fifo, 100).unwrap_err(), "not a regular file");
        }
        let latin1 = dir.path().join("latin1");
        std::fs::write(&latin1, b"ok\ncaf\xe9\n").unwrap();
        assert_eq!(
            read_text(&latin1, 100).unwrap_err(),
            "line 2, column 4: not valid UTF-8"
        );
    }
}
