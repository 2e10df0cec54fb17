//! How an etcd cluster is reached: its client URLs, etcd's own user
//! authentication (user and password, traded for a token on the v3 API, sent
//! as HTTP Basic authentication on the v2 API), and TLS (the certificate
//! authorities to trust, a client certificate and key for etcd's
//! `--client-cert-auth`).
//!
//! Certificates and keys are PEM bytes: the caller reads them from wherever
//! its configuration names them (calicoctl's `ETCD_CA_CERT_FILE`,
//! `ETCD_CERT_FILE`, `ETCD_KEY_FILE`, or the inline `etcdCACert`, `etcdCert`,
//! `etcdKey` of a `CalicoAPIConfig`), so that its errors name the setting.
//!
//! Security fails closed: an `https://` endpoint is verified against the
//! given authorities, or the system's when none is given; a certificate that
//! does not verify is a connection error, never a fallback to plain text.
//! Passwords and keys never appear in `Debug` output.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

/// Where and how to reach etcd.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EtcdAccess {
    /// Client URLs, `http://host:port` or `https://host:port`.
    pub endpoints: Vec<String>,
    /// etcd's user authentication, when the cluster has it enabled.
    pub credentials: Option<EtcdCredentials>,
    /// TLS material; empty for plain-text endpoints.
    pub tls: EtcdTls,
}

/// An etcd user and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdCredentials {
    /// The etcd user.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// PEM-encoded TLS material.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// The authorities that sign the servers' certificates; the system's
    /// when `None`.
    pub ca_certificate: Option<Vec<u8>>,
    /// The client certificate (chain) etcd checks with `--client-cert-auth`.
    pub client_certificate: Option<Vec<u8>>,
    /// The client certificate's private key.
    pub client_key: Option<Vec<u8>>,
}

impl EtcdAccess {
    /// Plain access to `endpoints`: no authentication, TLS only if an
    /// endpoint is `https://` (verified against the system's authorities).
    pub fn new(endpoints: &[String]) -> EtcdAccess {
        EtcdAccess {
            endpoints: endpoints.to_vec(),
            ..EtcdAccess::default()
        }
    }

    /// Whether any endpoint is `https://` or TLS material was given.
    pub fn uses_tls(&self) -> bool {
        self.endpoints
            .iter()
            .any(|endpoint| endpoint.starts_with("https://"))
            || self.tls.ca_certificate.is_some()
            || self.tls.client_certificate.is_some()
    }

    /// The endpoints as a comma-separated list, for messages.
    pub fn endpoints_text(&self) -> String {
        self.endpoints.join(",")
    }

    /// A client certificate needs its key and the other way round.
    fn client_identity(&self) -> Result<Option<ClientIdentity<'_>>, String> {
        match (&self.tls.client_certificate, &self.tls.client_key) {
            (Some(certificate), Some(key)) => Ok(Some(ClientIdentity { certificate, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err("a client certificate was given without its key".into()),
            (None, Some(_)) => Err("a client key was given without its certificate".into()),
        }
    }

    /// The v3 (gRPC) client's options.
    pub(crate) fn connect_options(
        &self,
        timeout: Duration,
    ) -> Result<etcd_client::ConnectOptions, String> {
        let mut options = etcd_client::ConnectOptions::new()
            .with_connect_timeout(timeout)
            .with_timeout(timeout);
        if let Some(credentials) = &self.credentials {
            options = options.with_user(&credentials.username, &credentials.password);
        }
        if self.uses_tls() {
            let mut tls = etcd_client::TlsOptions::new();
            tls = match &self.tls.ca_certificate {
                Some(pem) => {
                    check_pem(pem, "CA certificate", is_certificate)?;
                    tls.ca_certificate(etcd_client::Certificate::from_pem(pem))
                }
                None => tls.with_native_roots(),
            };
            if let Some(ClientIdentity { certificate, key }) = self.client_identity()? {
                check_pem(certificate, "client certificate", is_certificate)?;
                check_pem(key, "client key", is_private_key)?;
                tls = tls.identity(etcd_client::Identity::from_pem(certificate, key));
            }
            options = options.with_tls(tls);
        }
        Ok(options)
    }

    /// The v2 (HTTP) client's TLS settings, when TLS is in use.
    pub(crate) fn http_tls(&self) -> Result<Option<ureq::tls::TlsConfig>, String> {
        if !self.uses_tls() {
            return Ok(None);
        }
        let mut builder = ureq::tls::TlsConfig::builder();
        if let Some(pem) = &self.tls.ca_certificate {
            check_pem(pem, "CA certificate", is_certificate)?;
            let certificates = pem_certificates(pem)?;
            builder = builder.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)));
        }
        if let Some(ClientIdentity { certificate, key }) = self.client_identity()? {
            let chain = pem_certificates(certificate)?;
            if chain.is_empty() {
                return Err("the client certificate holds no PEM certificate".into());
            }
            let key = ureq::tls::PrivateKey::from_pem(key)
                .map_err(|error| format!("the client key is not a PEM private key: {error}"))?;
            builder = builder.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
        }
        Ok(Some(builder.build()))
    }

    /// The v2 API's `Authorization` header value, when a user is configured.
    pub(crate) fn basic_authorization(&self) -> Option<String> {
        self.credentials.as_ref().map(|credentials| {
            let pair = format!("{}:{}", credentials.username, credentials.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        })
    }
}

/// A client certificate (chain) and its key, PEM.
struct ClientIdentity<'access> {
    certificate: &'access [u8],
    key: &'access [u8],
}

fn is_certificate(label: &str) -> bool {
    label == "CERTIFICATE"
}

fn is_private_key(label: &str) -> bool {
    label.ends_with("PRIVATE KEY")
}

/// Fails unless `pem` holds at least one PEM block of the wanted kind: the
/// TLS libraries would otherwise report a wrong file only at the first
/// connection, as a handshake failure that does not say which file.
fn check_pem(pem: &[u8], what: &str, wanted: fn(&str) -> bool) -> Result<(), String> {
    let text = String::from_utf8_lossy(pem);
    let found = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("-----BEGIN "))
        .filter_map(|rest| rest.strip_suffix("-----"))
        .any(wanted);
    if found {
        Ok(())
    } else {
        Err(format!(
            "the {what} is not in PEM form (no matching -----BEGIN block)"
        ))
    }
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item.map_err(|error| format!("unreadable PEM: {error}"))? {
            ureq::tls::PemItem::Certificate(certificate) => certificates.push(certificate),
            _ => continue,
        }
    }
    Ok(certificates)
}

impl fmt::Debug for EtcdAccess {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EtcdAccess")
            .field("endpoints", &self.endpoints)
            .field("credentials", &self.credentials)
            .field("tls", &self.tls)
            .finish()
    }
}

impl fmt::Debug for EtcdCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EtcdCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for EtcdTls {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EtcdTls")
            .field("ca_certificate", &self.ca_certificate.is_some())
            .field("client_certificate", &self.client_certificate.is_some())
            .field(
                "client_key",
                &self.client_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password_and_the_key() {
        let access = EtcdAccess {
            endpoints: vec!["https://127.0.0.1:2379".into()],
            credentials: Some(EtcdCredentials {
                username: "calico".into(),
                password: "s3cret".into(),
            }),
            tls: EtcdTls {
                ca_certificate: None,
                client_certificate: Some(b"certificate".to_vec()),
                client_key: Some(b"-----BEGIN PRIVATE KEY-----\nkeymaterial".to_vec()),
            },
        };
        let text = format!("{access:?}");
        assert!(text.contains("calico"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("keymaterial"), "{text}");
    }

    #[test]
    fn basic_authorization_is_rfc_7617_base64_of_user_colon_password() {
        let mut access = EtcdAccess::new(&["http://127.0.0.1:2379".into()]);
        assert_eq!(access.basic_authorization(), None);
        access.credentials = Some(EtcdCredentials {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        });
        // The example of RFC 7617 §2.
        assert_eq!(
            access.basic_authorization().as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
    }

    #[test]
    fn a_certificate_without_its_key_or_a_non_pem_file_is_refused_before_connecting() {
        let mut access = EtcdAccess::new(&["https://127.0.0.1:2379".into()]);
        access.tls.client_certificate = Some(b"-----BEGIN CERTIFICATE-----\n".to_vec());
        let error = access
            .connect_options(Duration::from_secs(1))
            .map(|_| ())
            .unwrap_err();
        assert!(error.contains("without its key"), "{error}");

        let mut access = EtcdAccess::new(&["https://127.0.0.1:2379".into()]);
        access.tls.ca_certificate = Some(b"not a certificate".to_vec());
        let error = access
            .connect_options(Duration::from_secs(1))
            .map(|_| ())
            .unwrap_err();
        assert!(
            error.contains("CA certificate is not in PEM form"),
            "{error}"
        );
        let error = access.http_tls().map(|_| ()).unwrap_err();
        assert!(
            error.contains("CA certificate is not in PEM form"),
            "{error}"
        );
    }

    #[test]
    fn plain_http_endpoints_without_tls_material_use_no_tls() {
        let access = EtcdAccess::new(&["http://127.0.0.1:2379".into()]);
        assert!(!access.uses_tls());
        assert!(access.http_tls().unwrap().is_none());
        let secure = EtcdAccess::new(&["https://etcd:2379".into()]);
        assert!(secure.uses_tls());
    }
}
