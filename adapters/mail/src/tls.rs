//! What the SMTP connection trusts: the system CA bundle, or only the certificate authorities
//! of `SMTP_CA_FILE` (a private relay's CA). Also how a TLS refusal is told apart from a network
//! failure: the handshake's verdict on a certificate does not change on a retry.

use std::{error::Error as StdError, fmt, io};

use lettre::transport::smtp::{
    self,
    client::{Certificate, CertificateStore, TlsParameters},
};
use rustls::{
    RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

/// The certificate authorities a private relay's certificate must chain to, parsed and checked
/// once at start-up. Certificates are public: `Debug` shows how many there are.
#[derive(Clone)]
pub struct CaBundle {
    certificates: Vec<CertificateDer<'static>>,
}

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaBundleError {
    #[error("holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)")]
    NoCertificate,
    #[error("is not well-formed PEM")]
    Pem(#[source] rustls::pki_types::pem::Error),
    #[error("certificate {position} is not a usable X.509 CA certificate")]
    NotACertificate {
        /// 1-based, in file order.
        position: usize,
        #[source]
        source: rustls::Error,
    },
}

impl CaBundle {
    /// Every `CERTIFICATE` block of `pem`, each checked as rustls will use it as a trust anchor.
    /// Other blocks (a key, a CRL) are skipped; a file with no certificate is refused.
    ///
    /// # Errors
    /// [`CaBundleError`] when the PEM is malformed, holds no certificate, or one does not parse.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CaBundleError> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(CaBundleError::Pem)?;
        if certificates.is_empty() {
            return Err(CaBundleError::NoCertificate);
        }
        let mut store = RootCertStore::empty();
        for (index, certificate) in certificates.iter().enumerate() {
            store
                .add(certificate.clone())
                .map_err(|source| CaBundleError::NotACertificate {
                    position: index + 1,
                    source,
                })?;
        }
        Ok(Self { certificates })
    }

    /// How many certificates the bundle holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Never true: [`CaBundle::from_pem`] refuses an empty bundle.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaBundle({} certificates)", self.certificates.len())
    }
}

/// lettre's TLS settings for `host`: its name checked against the certificate, which must chain
/// to `ca` when given, else to the system CA bundle (lettre's `rustls-native-certs`).
pub(crate) fn parameters(host: &str, ca: Option<&CaBundle>) -> Result<TlsParameters, smtp::Error> {
    let builder = TlsParameters::builder(host.to_owned());
    let builder = match ca {
        None => builder,
        Some(ca) => ca.certificates.iter().try_fold(
            builder.certificate_store(CertificateStore::None),
            |builder, certificate| {
                Ok::<_, smtp::Error>(
                    builder.add_root_certificate(Certificate::from_der(certificate.to_vec())?),
                )
            },
        )?,
    };
    builder.build()
}

/// The TLS library's verdict somewhere in `error`'s chain: a certificate refused, or a
/// handshake the two sides could not agree on. tokio-rustls hands it over inside an
/// `io::Error`, whose `source()` skips it, so each `io::Error` is opened too.
pub(crate) fn refusal<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused() {
        for pem in [
            &b""[..],
            b"not pem at all",
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                matches!(CaBundle::from_pem(pem), Err(CaBundleError::NoCertificate)),
                "{}",
                String::from_utf8_lossy(pem)
            );
        }
    }

    #[test]
    fn a_certificate_block_that_is_no_certificate_is_refused() {
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            CaBundle::from_pem(garbage),
            Err(CaBundleError::NotACertificate { position: 1, .. })
        ));
        let broken = b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        assert!(CaBundle::from_pem(broken).is_err());
    }

    #[test]
    fn a_rustls_error_is_found_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, tls);
        assert!(matches!(
            refusal(&wrapped),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ));
        assert!(refusal(&io::Error::from(io::ErrorKind::ConnectionRefused)).is_none());
    }
}
