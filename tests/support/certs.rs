//! Test certificates: a private CA and a leaf for localhost / 127.0.0.1,
//! made with rcgen, and a rustls server configuration that uses them.
#![allow(dead_code)]

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct TestPki {
    pub ca_pem: String,
    pub leaf_pem: String,
    pub key_pem: String,
    pub leaf_der: Vec<u8>,
    /// SHA-256 of the leaf, lowercase hex.
    pub fingerprint: String,
}

pub fn pki() -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "popdoc test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        leaf_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
        leaf_der: leaf.der().to_vec(),
        fingerprint: Sha256::digest(leaf.der())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
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
