//! TLS to the PostgreSQL server: the CA and client certificate files read into one
//! rustls client configuration, and the driver's connection failures told apart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use zeroize::Zeroizing;

use crate::store::error::{PgConfigError, PgConnectError};

/// TLS to the PostgreSQL server, with libpq's `sslmode=verify-full` semantics: the
/// server's certificate must chain to a CA from [`PgTls::verify_full`]'s file and
/// name the host the connection string gives (`host`, also when `hostaddr` says
/// where to connect), and a server that does not speak TLS is refused, never used
/// in plain text. Optionally the store presents a client certificate
/// ([`PgTls::client_certificate`]), for PostgreSQL's `cert` authentication.
///
/// ```no_run
/// use otpfob::{PgConfig, PgTls};
///
/// let tls = PgTls::verify_full("/etc/otpfob/pg-ca.pem")?
///     .client_certificate("/etc/otpfob/pg-client.pem", "/etc/otpfob/pg-client.key")?;
/// let config = PgConfig::new("postgresql://otpfob@db.internal/bank")?.tls(tls)?;
/// # Ok::<(), otpfob::PgConfigError>(())
/// ```
///
/// # Security
///
/// There is no weaker mode: the certificate chain and the host name are always
/// checked (TLS 1.2 or 1.3, rustls's `ring` provider). The client key is parsed once
/// into rustls and the file's bytes are zeroized; neither the key nor any part of a
/// file is ever printed, and `Debug` shows only the file names.
#[derive(Clone)]
pub struct PgTls {
    ca_file: PathBuf,
    roots: RootCertStore,
    client_certificate_file: Option<PathBuf>,
    client: Arc<ClientConfig>,
}

impl fmt::Debug for PgTls {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PgTls")
            .field("mode", &"verify-full")
            .field("ca_file", &self.ca_file)
            .field("client_certificate_file", &self.client_certificate_file)
            .finish_non_exhaustive()
    }
}

impl PgTls {
    /// Verifies the server against the CA certificates (PEM) in `ca_file` and the
    /// host name in the connection string.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::TlsFile`] if the file cannot be read;
    /// [`PgConfigError::TlsCertificate`] if it holds no PEM certificate, or one that
    /// is not a usable CA certificate.
    pub fn verify_full(ca_file: impl AsRef<Path>) -> Result<Self, PgConfigError> {
        let ca_file = ca_file.as_ref().to_path_buf();
        let certificates = read_certificates(&ca_file)?;
        let mut roots = RootCertStore::empty();
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|error| PgConfigError::TlsCertificate {
                    file: ca_file.display().to_string(),
                    reason: format!("not a usable CA certificate ({error})"),
                })?;
        }
        let client = Arc::new(builder(roots.clone())?.with_no_client_auth());
        Ok(Self {
            ca_file,
            roots,
            client_certificate_file: None,
            client,
        })
    }

    /// Presents the certificate chain in `certificate_file` (PEM, the client's own
    /// certificate first) with the private key in `key_file` (PEM: PKCS#8, PKCS#1 or
    /// SEC1), for servers that authenticate clients by certificate.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::TlsFile`] if a file cannot be read;
    /// [`PgConfigError::TlsCertificate`] if the certificate file holds no PEM
    /// certificate; [`PgConfigError::TlsKeyNotPrivate`] if others may read the key
    /// file (as libpq refuses it); [`PgConfigError::TlsKey`] if the key file holds no
    /// PEM private key, or a key that rustls cannot use or that does not match the
    /// certificate.
    ///
    /// # Security
    ///
    /// The key file's bytes are zeroized once parsed; errors name the file and the
    /// kind of mistake, never its content.
    pub fn client_certificate(
        mut self,
        certificate_file: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
    ) -> Result<Self, PgConfigError> {
        let certificate_file = certificate_file.as_ref();
        let key_file = key_file.as_ref();
        let chain = read_certificates(certificate_file)?;
        check_private(key_file)?;
        let key_text = Zeroizing::new(read_file(key_file)?);
        let key_name = || key_file.display().to_string();
        let key =
            PrivateKeyDer::from_pem_slice(&key_text).map_err(|error| PgConfigError::TlsKey {
                file: key_name(),
                reason: pem_reason(&error, "private key"),
            })?;
        let client = builder(self.roots.clone())?
            .with_client_auth_cert(chain, key)
            .map_err(|error| PgConfigError::TlsKey {
                file: key_name(),
                reason: key_reason(&error),
            })?;
        self.client = Arc::new(client);
        self.client_certificate_file = Some(certificate_file.to_path_buf());
        Ok(self)
    }

    /// The CA file the server is verified against.
    #[must_use]
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The client certificate file, if one is presented.
    #[must_use]
    pub fn client_certificate_file(&self) -> Option<&Path> {
        self.client_certificate_file.as_deref()
    }

    /// The driver's TLS connector.
    pub(crate) fn connector(&self) -> tokio_postgres_rustls::MakeRustlsConnect {
        tokio_postgres_rustls::MakeRustlsConnect::new(ClientConfig::clone(&self.client))
    }
}

fn builder(
    roots: RootCertStore,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>, PgConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| PgConfigError::TlsProvider {
            reason: error.to_string(),
        })?;
    Ok(builder.with_root_certificates(roots))
}

fn read_file(path: &Path) -> Result<Vec<u8>, PgConfigError> {
    std::fs::read(path).map_err(|error| PgConfigError::TlsFile {
        file: path.display().to_string(),
        reason: error.kind().to_string(),
    })
}

/// Every PEM certificate in `path`: at least one.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PgConfigError> {
    let text = read_file(path)?;
    let invalid = |reason: String| PgConfigError::TlsCertificate {
        file: path.display().to_string(),
        reason,
    };
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(pem_reason(&error, "certificate")))?;
    if certificates.is_empty() {
        return Err(invalid("no PEM certificate in it".to_owned()));
    }
    Ok(certificates)
}

/// A PEM reader's complaint in words of our own: its own can quote a line of the
/// file, and a line of a key file is key material.
fn pem_reason(error: &pem::Error, what: &str) -> String {
    match error {
        pem::Error::NoItemsFound => format!("no PEM {what} in it"),
        pem::Error::Io(error) => format!("unreadable ({})", error.kind()),
        _ => format!("not a valid PEM {what}"),
    }
}

/// Why rustls refused a client key, without the key.
fn key_reason(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InconsistentKeys(_) => {
            "the key does not match the client certificate".to_owned()
        }
        _ => "a private key rustls cannot use (PKCS#8, PKCS#1 or SEC1, RSA, ECDSA or Ed25519)"
            .to_owned(),
    }
}

/// Refuses a key file its group or others may read or write, as libpq does.
fn check_private(path: &Path) -> Result<(), PgConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::metadata(path).map_err(|error| PgConfigError::TlsFile {
            file: path.display().to_string(),
            reason: error.kind().to_string(),
        })?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PgConfigError::TlsKeyNotPrivate {
                file: path.display().to_string(),
                mode,
            });
        }
    }
    Ok(())
}

/// What tokio-postgres says when the server answers the TLS request with "no".
const SERVER_WITHOUT_TLS: &str = "server does not support TLS";

/// The refusal in a failed connection attempt that waiting will not cure: a TLS
/// failure or the server refusing the credentials. `None` for anything else (an
/// unreachable server, a timeout), which the pool retries.
pub(crate) fn refusal(error: &postgres::Error, server: &str) -> Option<PgConnectError> {
    let server = server.to_owned();
    if let Some(database) = error.as_db_error() {
        let code = database.code().code();
        // 28000 invalid_authorization_specification (no pg_hba entry, no or a bad
        // client certificate), 28P01 invalid_password.
        return matches!(code, "28000" | "28P01").then(|| PgConnectError::AuthenticationRefused {
            server,
            reason: format!("{code}: {}", database.message()),
        });
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.to_string() == SERVER_WITHOUT_TLS {
            return Some(PgConnectError::ServerWithoutTls { server });
        }
        let tls = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .or_else(|| cause.downcast_ref::<rustls::Error>());
        if let Some(tls) = tls {
            return Some(classify(tls, server));
        }
        source = cause.source();
    }
    None
}

fn classify(error: &rustls::Error, server: String) -> PgConnectError {
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => PgConnectError::WrongHostName {
            server,
            reason: error.to_string(),
        },
        rustls::Error::InvalidCertificate(_) => PgConnectError::UntrustedCertificate {
            server,
            reason: error.to_string(),
        },
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateRequired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied,
        ) => PgConnectError::ClientCertificateRefused {
            server,
            reason: error.to_string(),
        },
        _ => PgConnectError::Handshake {
            server,
            reason: error.to_string(),
        },
    }
}
