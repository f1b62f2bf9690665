//! `schema_exporter healthcheck`: asks a running exporter for `/-/healthy` and exits 0 (healthy) or
//! 1 (anything else). The container image carries no shell, curl or wget, so its `HEALTHCHECK` runs
//! the exporter's own binary; exit 1 is what Docker reads as "unhealthy".

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::HOST;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpStream;

/// Probes `path` on the exporter listening on `listen` (the same syntax as `--web.listen-address`).
pub async fn run(listen: &str, path: &str, timeout: Duration) -> ExitCode {
    let outcome = match tokio::time::timeout(timeout, get(listen, path)).await {
        Ok(Ok(status)) if (200..300).contains(&status) => return ExitCode::SUCCESS,
        Ok(Ok(status)) => format!("answered HTTP {status}"),
        Ok(Err(e)) => e,
        Err(_) => format!("no answer within {}", humantime::format_duration(timeout)),
    };
    eprintln!("unhealthy: {path} on {listen}: {outcome}");
    ExitCode::from(1)
}

/// The address to probe for a listen address: wildcard listeners are reached over loopback.
pub async fn target(listen: &str) -> Result<SocketAddr, String> {
    let spelled = match listen.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => listen.to_string(),
    };
    let mut addr = tokio::net::lookup_host(&spelled)
        .await
        .map_err(|e| format!("cannot resolve {spelled}: {e}"))?
        .next()
        .ok_or_else(|| format!("{spelled} resolves to no address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Ok(addr)
}

async fn get(listen: &str, path: &str) -> Result<u16, String> {
    let addr = target(listen).await?;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("invalid path: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wildcard_listeners_are_probed_on_loopback() {
        assert_eq!(target(":9713").await.unwrap().to_string(), "127.0.0.1:9713");
        assert_eq!(
            target("0.0.0.0:80").await.unwrap().to_string(),
            "127.0.0.1:80"
        );
        assert_eq!(target("[::]:9713").await.unwrap().to_string(), "[::1]:9713");
        assert_eq!(
            target("192.0.2.7:9713").await.unwrap().to_string(),
            "192.0.2.7:9713"
        );
        assert!(target("no-port").await.is_err());
    }
}
