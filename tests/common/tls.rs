//! Certificates for the TLS tests: a CA made by the test (rcgen) and server certificates it
//! signs for 127.0.0.1 and localhost, written as PEM files.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A certificate authority; its certificate is `pem`.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate's PEM file (what a peer trusts).
    pub pem: PathBuf,
}

/// A server certificate and its key, as PEM files.
pub struct ServerCert {
    /// Certificate file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
    /// The certificate's SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it.
    pub fingerprint: String,
}

impl Ca {
    /// A new CA named `name`, its certificate written to `dir/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        (params.distinguished_name).push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pem = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&pem, issuer.pem()).unwrap();
        Self { issuer, pem }
    }

    /// A server certificate for 127.0.0.1 and localhost, written to `dir/<name>.crt` and
    /// `dir/<name>.key` (replacing what is there).
    pub fn server(&self, dir: &Path, name: &str) -> ServerCert {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        (params.subject_alt_names).push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let digest = Sha256::digest(cert.der().as_ref());
        let fingerprint = (digest.iter().map(|b| format!("{b:02X}")))
            .collect::<Vec<_>>()
            .join(":");
        ServerCert {
            cert: cert_path,
            key: key_path,
            fingerprint,
        }
    }
}
