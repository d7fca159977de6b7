//! A throw-away certificate authority for TLS tests, generated at test time (rcgen): its PEM
//! file for `SMTP_CA_FILE`, and server configurations presenting a certificate it signed for the
//! names asked. Nothing is committed; an untrusted or wrong-name certificate is one call away.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::{
    ServerConfig,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A CA whose PEM certificate sits in a temp file until it is dropped.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    file: PathBuf,
}

impl TestCa {
    /// A fresh CA named `name`.
    ///
    /// # Panics
    /// When the key or certificate cannot be made or written.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::new()).expect("no names");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a CA key"))
            .expect("a CA certificate");
        let file = std::env::temp_dir().join(format!(
            "gatehouse-test-ca-{}.pem",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&file, issuer.pem()).expect("the CA file");
        Self { issuer, file }
    }

    /// The CA certificate as a PEM file, for `SMTP_CA_FILE`.
    pub fn pem_file(&self) -> &Path {
        &self.file
    }

    /// A TLS server presenting a certificate for `names` (DNS names), signed by this CA.
    ///
    /// # Panics
    /// When the certificate cannot be made.
    pub fn server(&self, names: &[&str]) -> Arc<ServerConfig> {
        let key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let certificate = CertificateParams::new(names)
            .expect("valid names")
            .signed_by(&key, &self.issuer)
            .expect("a server certificate");
        let chain: Vec<CertificateDer<'static>> = vec![certificate.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a server configuration");
        Arc::new(config)
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}
