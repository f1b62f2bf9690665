//! Why a connection failed, in words an operator can act on. The pool hides the cause of the
//! failures it retries (a refused connection, a server that accepts and never answers): both end
//! as "timed out". For those, one bounded TCP probe of the server's address tells them apart.

use std::time::Duration;

use crate::dialect::Engine;
use crate::secret::DatabaseUrl;

/// What a failed catalog read of a database with check timeout `timeout` was: a session that
/// could not be opened (`Err`, with its cause), or a query that failed on an open one (`Ok`, the
/// driver's error, scrubbed).
pub async fn classify(
    engine: Engine,
    url: &DatabaseUrl,
    timeout: Duration,
    error: &sqlx::Error,
) -> Result<String, String> {
    // The pool gives up at 3/4 of the timeout; the probe fits in what is left.
    let waited = super::SessionLimits::for_check(timeout).connect_timeout;
    match connect_failure(engine, url, error, waited, timeout / 5).await {
        Some(cause) => Err(cause),
        None => Ok(url.scrub(&error.to_string())),
    }
}

/// The cause of `error` if it is a failure to connect or log in, `None` if it is not (a query that
/// failed on an open session). `probe` bounds the TCP probe made when the pool gave up without a
/// cause. Server messages are scrubbed of the password.
async fn connect_failure(
    engine: Engine,
    url: &DatabaseUrl,
    error: &sqlx::Error,
    waited: Duration,
    probe: Duration,
) -> Option<String> {
    let waited = humantime::format_duration(waited);
    match error {
        sqlx::Error::PoolTimedOut => Some(match address(engine, url) {
            None => format!("no connection within {waited}"),
            Some((host, port)) => probe_cause(&host, port, waited, probe).await,
        }),
        sqlx::Error::Io(e) => Some(match address(engine, url) {
            Some((host, port))
                if tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .is_err() =>
            {
                format!("cannot resolve host {host}: {e}")
            }
            Some((host, port)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused(&host, port)
            }
            _ => format!("network error: {e}"),
        }),
        sqlx::Error::Tls(e) => Some(format!("TLS: {}", url.scrub(&e.to_string()))),
        sqlx::Error::Database(e) => {
            // MySQL's SQLSTATEs are coarse (42000 for a missing database and for syntax
            // errors alike); its error numbers are not.
            let code = match e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                Some(my) => my.number().to_string().into(),
                None => e.code()?,
            };
            let message = url.scrub(e.message());
            login_refusal(engine, &code).map(|what| format!("{what}: {message}"))
        }
        _ => None,
    }
}

/// What a server error code raised while logging in means; `None` for codes a query raises.
fn login_refusal(engine: Engine, code: &str) -> Option<&'static str> {
    match engine {
        // Class 28 is authorization; 3D000 a database that does not exist; 53300 too many
        // connections; 57P03 a server starting up or shutting down.
        Engine::Postgres => match code {
            c if c.starts_with("28") => Some("authentication failed"),
            "3D000" => Some("the database does not exist"),
            "53300" | "57P03" => Some("the server refused the session"),
            _ => None,
        },
        // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_BAD_DB_ERROR, ER_CON_COUNT_ERROR,
        // ER_HOST_IS_BLOCKED, ER_HOST_NOT_PRIVILEGED, ER_ACCESS_DENIED_NO_PASSWORD_ERROR.
        Engine::MySql => match code {
            "1045" | "1044" | "1698" => Some("authentication failed"),
            "1049" => Some("the database does not exist"),
            "1040" | "1129" | "1130" => Some("the server refused the session"),
            _ => None,
        },
        // SQLITE_CANTOPEN and SQLITE_NOTADB: the file is not there or not a database.
        Engine::Sqlite => match code {
            "14" => Some("the database file is missing or not readable"),
            "26" => Some("not an SQLite database"),
            _ => None,
        },
    }
}

/// Host and port of a networked database; `None` for SQLite and Unix sockets.
fn address(engine: Engine, url: &DatabaseUrl) -> Option<(String, u16)> {
    let default_port = match engine {
        Engine::Postgres => 5432,
        Engine::MySql => 3306,
        Engine::Sqlite => return None,
    };
    let parsed = url::Url::parse(url.expose()).ok()?;
    if parsed
        .query_pairs()
        .any(|(k, _)| k == "host" || k == "socket")
    {
        return None;
    }
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    // An IPv6 literal comes bracketed; the socket address wants it bare.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Some((host, parsed.port().unwrap_or(default_port)))
}

async fn probe_cause(
    host: &str,
    port: u16,
    waited: humantime::FormattedDuration,
    probe: Duration,
) -> String {
    match tokio::time::timeout(probe, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => format!(
            "{} accepted the connection but the server did not complete the login within {waited} (overloaded, stuck, or not a database server)",
            shown(host, port)
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused(host, port),
        Ok(Err(e)) => match tokio::net::lookup_host((host, port)).await {
            Err(_) => format!("cannot resolve host {host}: {e}"),
            Ok(_) => format!("cannot reach {}: {e}", shown(host, port)),
        },
        Err(_) => format!(
            "no answer from {} within {waited} (host down, unreachable or filtered)",
            shown(host, port)
        ),
    }
}

fn refused(host: &str, port: u16) -> String {
    format!(
        "connection refused by {} (no server listening there)",
        shown(host, port)
    )
}

fn shown(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> DatabaseUrl {
        DatabaseUrl::new(text, None).unwrap()
    }

    #[test]
    fn the_probed_address_is_the_urls_with_the_engines_default_port() {
        assert_eq!(
            address(Engine::Postgres, &url("postgres://u@db.internal/app")),
            Some(("db.internal".into(), 5432))
        );
        assert_eq!(
            address(Engine::MySql, &url("mysql://u@[::1]:3307/app")),
            Some(("::1".into(), 3307))
        );
        assert_eq!(
            address(
                Engine::Postgres,
                &url("postgres:///app?host=/run/postgresql")
            ),
            None,
            "a Unix socket has no TCP address to probe"
        );
        assert_eq!(address(Engine::Sqlite, &url("sqlite:a.db")), None);
    }

    #[test]
    fn login_refusals_are_told_from_query_errors() {
        assert_eq!(
            login_refusal(Engine::Postgres, "28P01"),
            Some("authentication failed")
        );
        assert_eq!(login_refusal(Engine::Postgres, "42P01"), None);
        assert_eq!(
            login_refusal(Engine::MySql, "1045"),
            Some("authentication failed")
        );
        assert_eq!(login_refusal(Engine::MySql, "1146"), None);
    }
}
