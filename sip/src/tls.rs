//! SIP over TLS (RFC 3261 §26.2): the certificate `tls:` listeners present and how the
//! servers deflect connects to are verified. TLS itself is rustls (on `ring`, like every
//! other TLS connection deflect makes); this module only loads files and chooses policies.
//!
//! - [`ServerIdentity`] holds `[sip.tls]`'s certificate and key. [`ServerIdentity::reload`]
//!   re-reads them (on SIGHUP, or when [`ServerIdentity::changed`] sees a new modification
//!   time); a pair that does not load keeps the previous one in service. New connections get
//!   the pair in service when they arrive; established ones keep theirs.
//! - [`Trust`] says how a server is verified when deflect opens a connection to it: per
//!   trunk, against `tls_ca` (default: the public web PKI roots, as for providers' APIs) for
//!   the name sent as SNI (`tls_server_name`, default the URI's host), or against pinned
//!   SHA-256 fingerprints (`tls_pins`), for SBCs with self-signed certificates.

use deflect_config::{CertificatePin, SipConfig, SipTlsConfig, TrunkConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// Why a certificate, key or CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsError {
    /// The configuration key naming the file.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate and key `tls:` listeners present, replaceable while running.
#[derive(Debug)]
pub struct ServerIdentity {
    certificate: PathBuf,
    private_key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times when last loaded.
    loaded: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl ServerIdentity {
    /// Loads `[sip.tls]`'s pair; `None` when none is configured.
    pub fn load(config: &SipTlsConfig) -> Result<Option<Arc<Self>>, TlsError> {
        let (Some(certificate), Some(private_key)) = (&config.certificate, &config.private_key)
        else {
            return Ok(None);
        };
        let stamps = (modified(certificate), modified(private_key));
        let pair = load_pair(certificate, private_key)?;
        Ok(Some(Arc::new(Self {
            certificate: certificate.clone(),
            private_key: private_key.clone(),
            current: RwLock::new(Arc::new(pair)),
            loaded: Mutex::new(stamps),
        })))
    }

    /// Whether either file's modification time differs from when it was last loaded.
    pub fn changed(&self) -> bool {
        let now = (modified(&self.certificate), modified(&self.private_key));
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) != now
    }

    /// Re-reads both files; on success new connections present the new pair. On failure the
    /// pair in service stays (and the failure is not retried until the files change again).
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamps = (modified(&self.certificate), modified(&self.private_key));
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = stamps;
        let pair = load_pair(&self.certificate, &self.private_key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
        Ok(())
    }

    /// The rustls configuration of `tls:` listeners: no client certificates asked for, the
    /// pair in service presented.
    pub fn server_config(self: &Arc<Self>) -> Arc<ServerConfig> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Arc::new(config)
    }
}

impl ResolvesServerCert for ServerIdentity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load_pair(certificate: &Path, private_key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(certificate, "sip.tls.certificate")?;
    let key = PrivateKeyDer::from_pem_file(private_key).map_err(|e| TlsError {
        key: "sip.tls.private_key".into(),
        message: format!("{}: {e}", private_key.display()),
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError {
        key: "sip.tls.private_key".into(),
        message: format!(
            "{} does not go with the certificate in {}: {e}",
            private_key.display(),
            certificate.display()
        ),
    })
}

fn certificates(file: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |message: String| TlsError {
        key: key.to_owned(),
        message: format!("{}: {message}", file.display()),
    };
    let chain = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| fail(e.to_string()))?;
    if chain.is_empty() {
        return Err(fail("no certificate in it".into()));
    }
    Ok(chain)
}

/// How servers deflect connects to over TLS are verified, per trunk.
#[derive(Debug)]
pub struct Trust {
    trunks: HashMap<String, TrunkTrust>,
    /// For servers of no trunk (a call placed by `deflect call`, a Contact outside every
    /// trunk): the public web PKI roots.
    public: Arc<ClientConfig>,
}

#[derive(Debug)]
struct TrunkTrust {
    config: Arc<ClientConfig>,
    server_name: Option<String>,
    allow: Vec<deflect_config::Cidr>,
}

/// Where and how to open one TLS connection: the name sent as SNI (and verified, unless
/// pinned) and the verification policy.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The server name.
    pub name: ServerName<'static>,
    /// The client configuration (roots or pins).
    pub config: Arc<ClientConfig>,
}

impl Trust {
    /// Reads every trunk's `tls_ca` and `tls_pins`.
    pub fn new(config: &SipConfig) -> Result<Self, TlsError> {
        let mut trunks = HashMap::new();
        for (i, t) in config.trunks.iter().enumerate() {
            let trust = TrunkTrust {
                config: client_config(t, i)?,
                server_name: t.tls_server_name.clone(),
                allow: t.allow.clone(),
            };
            trunks.insert(t.name.clone(), trust);
        }
        Ok(Self {
            trunks,
            public: Arc::new(verified_by(public_roots())),
        })
    }

    /// How to reach `host` (a URI's host) for `trunk` (`None`: the trunk whose `allow`
    /// holds `ip`, if any).
    pub fn peer(&self, trunk: Option<&str>, host: &str, ip: IpAddr) -> Peer {
        let trunk = match trunk {
            Some(name) => self.trunks.get(name),
            None => self
                .trunks
                .values()
                .find(|t| t.allow.iter().any(|n| n.contains(ip))),
        };
        let named = trunk.and_then(|t| t.server_name.as_deref()).unwrap_or(host);
        let name = ServerName::try_from(named.trim_matches(['[', ']']).to_owned())
            .unwrap_or_else(|_| ServerName::IpAddress(ip.into()));
        Peer {
            name,
            config: trunk.map_or_else(|| self.public.clone(), |t| t.config.clone()),
        }
    }
}

fn public_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn verified_by(roots: RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client_config(trunk: &TrunkConfig, i: usize) -> Result<Arc<ClientConfig>, TlsError> {
    if !trunk.tls_pins.is_empty() {
        let verifier = Pinned {
            pins: trunk.tls_pins.clone(),
            provider: provider(),
        };
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        return Ok(Arc::new(config));
    }
    let Some(ca) = &trunk.tls_ca else {
        return Ok(Arc::new(verified_by(public_roots())));
    };
    let key = format!("sip.trunks[{i}].tls_ca");
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca, &key)? {
        roots.add(cert).map_err(|e| TlsError {
            key: key.clone(),
            message: format!("{}: not a CA certificate rustls accepts: {e}", ca.display()),
        })?;
    }
    Ok(Arc::new(verified_by(roots)))
}

/// Accepts exactly the certificates whose SHA-256 fingerprint is pinned; signatures are
/// still checked, so the peer must hold the pinned certificate's key.
#[derive(Debug)]
struct Pinned {
    pins: Vec<CertificatePin>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if self.pins.iter().any(|p| p.0 == fingerprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate {} is not pinned",
                CertificatePin(fingerprint)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(toml_trunks: Vec<TrunkConfig>) -> SipConfig {
        SipConfig {
            trunks: toml_trunks,
            ..SipConfig::default()
        }
    }

    #[test]
    fn the_server_name_is_the_trunks_override_else_the_uris_host() {
        let trust = Trust::new(&config(vec![TrunkConfig {
            name: "carrier".into(),
            allow: vec!["198.51.100.0/24".parse().unwrap()],
            tls_server_name: Some("sbc.carrier.example".into()),
            ..TrunkConfig::default()
        }]))
        .unwrap();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let named = |p: Peer| p.name.to_str().into_owned();
        assert_eq!(
            named(trust.peer(Some("carrier"), "198.51.100.7", ip)),
            "sbc.carrier.example"
        );
        // No trunk named: the one whose allow-list holds the address.
        assert_eq!(
            named(trust.peer(None, "x.example", ip)),
            "sbc.carrier.example"
        );
        // Outside every trunk: the URI's host, an address literal included.
        let elsewhere: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            named(trust.peer(None, "pbx.example", elsewhere)),
            "pbx.example"
        );
        assert_eq!(
            named(trust.peer(None, "[2001:db8::1]", elsewhere)),
            "2001:db8::1"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_names_its_key() {
        let dir = std::env::temp_dir().join(format!("deflect-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("empty.pem");
        std::fs::write(&ca, "").unwrap();
        let e = Trust::new(&config(vec![TrunkConfig {
            name: "carrier".into(),
            tls_ca: Some(ca),
            ..TrunkConfig::default()
        }]))
        .unwrap_err();
        assert_eq!(e.key, "sip.trunks[0].tls_ca");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
