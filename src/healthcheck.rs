//! `schema_exporter healthcheck`: asks a running exporter for `/-/healthy` and exits 0 (healthy) or
//! 1 (anything else), over TLS when `--web.config.file` says the exporter serves it. The container image carries no shell, curl or wget, so its `HEALTHCHECK` runs
//! the exporter's own binary; exit 1 is what Docker reads as "unhealthy".

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::HOST;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

use crate::web::WebConfig;

/// Probes `path` on the exporter listening on `listen` (the same syntax as `--web.listen-address`),
/// over TLS when its web config (`web_config`) has it.
pub async fn run(
    listen: &str,
    path: &str,
    timeout: Duration,
    web_config: Option<&Path>,
) -> ExitCode {
    let web = match web_config.map(WebConfig::load).transpose() {
        Ok(w) => w.unwrap_or_default(),
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = match tokio::time::timeout(timeout, get(listen, path, &web)).await {
        Ok(Ok(status)) if (200..300).contains(&status) => return ExitCode::SUCCESS,
        // Credentials are not the probe's to have: the exporter answering through its auth layer
        // is alive.
        Ok(Ok(401)) if !web.users.is_empty() => return ExitCode::SUCCESS,
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

async fn get(listen: &str, path: &str, web: &WebConfig) -> Result<u16, String> {
    let addr = target(listen).await?;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    match &web.tls {
        None => request(TokioIo::new(stream), addr, path).await,
        Some(tls) => {
            let config = pinned_client(tls)?;
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
            request(TokioIo::new(stream), addr, path).await
        }
    }
}

async fn request<I>(io: I, addr: SocketAddr, path: &str) -> Result<u16, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
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

/// A TLS client that trusts exactly the certificate the exporter's web config serves: the probe
/// runs beside the exporter, so whatever name or CA that certificate has, it is the one to expect.
/// (An exporter that requires client certificates refuses the probe: use a TCP probe there.)
fn pinned_client(tls: &crate::web::TlsSettings) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let expected = rustls::pki_types::CertificateDer::pem_slice_iter(&tls.cert.read()?)
        .next()
        .ok_or("the web config's certificate file holds no certificate")?
        .map_err(|e| e.to_string())?
        .into_owned();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { expected, provider }))
        .with_no_client_auth();
    Ok(config)
}

/// Accepts the one certificate it was given, with its signatures checked.
#[derive(Debug)]
struct Pinned {
    expected: rustls::pki_types::CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the exporter serves another certificate than its web config names".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
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
