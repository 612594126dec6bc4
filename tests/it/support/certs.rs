//! Test certificates: a private CA and a leaf for localhost / 127.0.0.1,
//! made with rcgen, and a rustls server configuration that uses them.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct TestPki {
    pub ca_pem: String,
    pub key_pem: String,
    pub leaf_der: Vec<u8>,
    /// SHA-256 of the leaf, lowercase hex.
    pub fingerprint: String,
}

pub fn pki() -> TestPki {
    let (ca_pem, _, _, leaf_der, key_pem) =
        super::common::certificates("popdoc test CA", "localhost", None).unwrap();
    TestPki {
        ca_pem,
        key_pem,
        fingerprint: super::common::hex(&Sha256::digest(&leaf_der)),
        leaf_der,
    }
}

impl TestPki {
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = rustls::pki_types::pem::PemObject::from_pem_slice(self.key_pem.as_bytes())
            .map(PrivateKeyDer::Pkcs8)
            .unwrap_or_else(|_: rustls::pki_types::pem::Error| {
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(Vec::new()))
            });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(self.leaf_der.clone())], key)
            .unwrap();
        Arc::new(config)
    }
}
