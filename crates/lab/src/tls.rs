//! A throwaway certificate authority for TLS tests: a CA, a server
//! certificate for `127.0.0.1` and `localhost`, and a client certificate,
//! written as PEM files into a directory the test owns. Made fresh for each
//! test, so no key material is ever committed.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::LabError;

/// The PEM files [`write_test_certificates`] made.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA's certificate: what clients and the server trust.
    pub ca_certificate: PathBuf,
    /// The server's certificate (SANs `127.0.0.1`, `::1`, `localhost`).
    pub server_certificate: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate signed by the same CA (CN `client_name`).
    pub client_certificate: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A second CA's certificate, which signed nothing here: trusting it
    /// alone must make every handshake fail.
    pub other_ca_certificate: PathBuf,
}

/// Makes a CA, a server and a client certificate (common name
/// `client_name`) and writes them into `directory`.
pub fn write_test_certificates(directory: &Path, client_name: &str) -> Result<TlsFiles, LabError> {
    let failed = |what: &str, error: rcgen::Error| LabError::Io {
        context: format!("making the test {what}"),
        source: std::io::Error::other(error),
    };
    let write = |name: &str, text: String| -> Result<PathBuf, LabError> {
        let path = directory.join(name);
        std::fs::write(&path, text).map_err(|source| LabError::Io {
            context: format!("writing {}", path.display()),
            source,
        })?;
        Ok(path)
    };
    std::fs::create_dir_all(directory).map_err(|source| LabError::Io {
        context: format!("creating {}", directory.display()),
        source,
    })?;

    let authority = |name: &str| -> Result<(String, Issuer<'static, KeyPair>), rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let key = KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        Ok((certificate.pem(), Issuer::new(params, key)))
    };
    let (ca_pem, issuer) = authority("nodebgp test CA").map_err(|error| failed("CA", error))?;
    let (other_ca_pem, _) =
        authority("nodebgp other test CA").map_err(|error| failed("other CA", error))?;

    let leaf = |names: Vec<String>,
                common_name: &str,
                purpose: ExtendedKeyUsagePurpose|
     -> Result<(String, String), rcgen::Error> {
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &issuer)?;
        Ok((certificate.pem(), key.serialize_pem()))
    };
    let (server_pem, server_key_pem) = leaf(
        vec!["127.0.0.1".into(), "::1".into(), "localhost".into()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    )
    .map_err(|error| failed("server certificate", error))?;
    let (client_pem, client_key_pem) =
        leaf(Vec::new(), client_name, ExtendedKeyUsagePurpose::ClientAuth)
            .map_err(|error| failed("client certificate", error))?;

    Ok(TlsFiles {
        ca_certificate: write("ca.pem", ca_pem)?,
        server_certificate: write("server.pem", server_pem)?,
        server_key: write("server-key.pem", server_key_pem)?,
        client_certificate: write("client.pem", client_pem)?,
        client_key: write("client-key.pem", client_key_pem)?,
        other_ca_certificate: write("other-ca.pem", other_ca_pem)?,
    })
}
