//! The TLS side of the web config: a rustls server configuration built from [`TlsSettings`], with
//! the toolkit's names for versions, cipher suites and curves mapped onto rustls' (ring provider).

use rustls::crypto::ring as provider;
use rustls::crypto::SupportedKxGroup;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls::{ServerConfig, SupportedCipherSuite};
use std::sync::Arc;

use super::{ClientAuth, Pem, TlsSettings, TlsVersion};

/// TLS 1.3 suites by Go's names: accepted in `cipher_suites` and, as in Go, not configurable
/// (TLS 1.3 always offers all of them).
const TLS13_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Suites Go lists as secure that rustls does not implement (CBC modes, RSA key exchange).
const GO_ONLY_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/// The TLS 1.2 suite named `name` as Go names it; `None` for a TLS 1.3 suite (accepted, ignored).
pub fn cipher_suite(name: &str) -> Result<Option<SupportedCipherSuite>, String> {
    use provider::cipher_suite as cs;
    let suite = match name {
        n if TLS13_SUITES.contains(&n) => return Ok(None),
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        n if GO_ONLY_SUITES.contains(&n) => {
            return Err(format!(
                "{n} is a valid Go cipher suite but not available in rustls (this exporter's TLS), \
                 which implements no CBC or RSA key-exchange suite"
            ))
        }
        other => return Err(format!("unknown cipher: {other}")),
    };
    Ok(Some(suite))
}

/// The key exchange group Go calls `name`.
pub fn curve(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    match name {
        "X25519" => Ok(provider::kx_group::X25519),
        "CurveP256" => Ok(provider::kx_group::SECP256R1),
        "CurveP384" => Ok(provider::kx_group::SECP384R1),
        "CurveP521" => Err(
            "CurveP521 is a valid Go curve but not available in rustls (this exporter's TLS)"
                .into(),
        ),
        other => Err(format!("unknown curve: {other}")),
    }
}

/// Reads the certificate, key and client CAs and builds the server configuration. Called at start,
/// by `validate`, and again whenever one of the files changes.
pub fn server_config(t: &TlsSettings) -> Result<ServerConfig, String> {
    let mut crypto = provider::default_provider();
    let tls12: Vec<SupportedCipherSuite> = t
        .cipher_suites
        .iter()
        .filter_map(|s| cipher_suite(s).transpose())
        .collect::<Result<_, _>>()?;
    if !t.cipher_suites.is_empty() {
        let mut suites: Vec<SupportedCipherSuite> = crypto
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        suites.extend(tls12);
        crypto.cipher_suites = suites;
    }
    if !t.curves.is_empty() {
        crypto.kx_groups = t
            .curves
            .iter()
            .map(|c| curve(c))
            .collect::<Result<_, _>>()?;
    }
    let crypto = Arc::new(crypto);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= t.min_version && *v <= t.max_version)
    .map(|(_, v)| v)
    .collect();
    let builder = ServerConfig::builder_with_provider(crypto.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match (t.client_auth, &t.client_ca) {
        (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca.read()?) {
                let cert = cert.map_err(|e| format!("{}: {e}", describe(ca)))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", describe(ca)))?;
            }
            if roots.is_empty() {
                return Err(format!("{}: no certificate in it", describe(ca)));
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto.clone());
            if auth == ClientAuth::VerifyIfGiven {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier
                .build()
                .map_err(|e| format!("{}: {e}", describe(ca)))?;
            if t.client_allowed_sans.is_empty() {
                builder.with_client_cert_verifier(verifier)
            } else {
                builder.with_client_cert_verifier(Arc::new(AllowedSans {
                    inner: verifier,
                    allowed: t.client_allowed_sans.clone(),
                }))
            }
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&t.cert.read()?)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", describe(&t.cert)))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", describe(&t.cert)));
    }
    let key = PrivateKeyDer::from_pem_slice(&t.key.read()?)
        .map_err(|e| format!("{}: no private key in it ({e})", describe(&t.key)))?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("failed to load the key pair: {e}"))?;
    config.ignore_client_order = t.prefer_server_cipher_suites;
    // HTTP/1.1 only: `http2: true` in the file is accepted and offers nothing more.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn describe(pem: &Pem) -> String {
    match pem {
        Pem::File(p) => p.display().to_string(),
        Pem::Inline(_) => "inline PEM".into(),
    }
}

/// `client_allowed_sans`: a verified client certificate must also name one of these in its subject
/// alternative names (DNS names, email addresses, IP addresses or URIs), as the toolkit checks.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        // A client without a certificate names no SAN, so it cannot be one of the allowed ones,
        // even under VerifyClientCertIfGiven (the toolkit refuses it too).
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let sans = subject_alt_names(end_entity);
        if sans.iter().any(|s| self.allowed.contains(s)) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(format!(
                "client certificate names none of the allowed SANs (it has {sans:?})"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's DNS, email, IP and URI subject alternative names, as text.
fn subject_alt_names(cert: &CertificateDer<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(sans)) = parsed.subject_alternative_name() else {
        return Vec::new();
    };
    sans.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some(s.to_string())
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string()),
                16 => {
                    Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}
