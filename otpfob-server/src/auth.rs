//! API clients, their bearer keys and certificates, and the roles each endpoint needs.
//!
//! A key is 32 random bytes from the operating system (256 bits), shown once when it is
//! issued (`otpfob-server key issue`); the clients file keeps only its SHA-256. A key
//! this long needs no slow hash: nobody can guess one, so the hash only keeps a stolen
//! clients file from being a list of working keys.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::problem::Problem;

/// What a client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// A login service: verify codes, issue and check OCRA login challenges.
    Verify,
    /// A payments service: issue and check transaction-signing challenges.
    Sign,
    /// The help desk: read state, unlock, resync, enable, disable, set PINs, audit.
    Helpdesk,
    /// Token administration: enrol, import, delete, reseal.
    Admin,
    /// Auditors: read audit trails only.
    Audit,
    /// A metrics scraper (Prometheus): read `/metrics` only, which names no token.
    Metrics,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Verify,
        Role::Sign,
        Role::Helpdesk,
        Role::Admin,
        Role::Audit,
        Role::Metrics,
    ];

    /// The role's name in the clients file and in problems.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Verify => "verify",
            Role::Sign => "sign",
            Role::Helpdesk => "helpdesk",
            Role::Admin => "admin",
            Role::Audit => "audit",
            Role::Metrics => "metrics",
        }
    }

    /// The role named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One API client as the clients file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// The client's name: it appears in every audit event the client causes.
    pub name: String,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// The SHA-256 of its bearer key, in hex; absent for a certificate-only client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<String>,
    /// The SHA-256 of its TLS client certificate (DER), in hex. With a key too, the
    /// client must present both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
}

/// The clients file: `[[client]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsFile {
    /// Every client.
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientEntry>,
}

/// Errors reading or changing the clients file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientsError {
    /// The file could not be read or written.
    #[error("clients file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid clients file.
    #[error("clients file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A client of that name exists already.
    #[error("a client named {name:?} exists already")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// No client of that name.
    #[error("no client named {name:?}")]
    Unknown {
        /// The name.
        name: String,
    },
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

impl ClientsFile {
    /// Reads a clients file (a missing file is an empty one).
    ///
    /// # Errors
    ///
    /// [`ClientsError::Io`] and [`ClientsError::Invalid`] (bad TOML, a duplicate name,
    /// a malformed hash, a client with neither key nor certificate, or without roles).
    pub fn read(path: &Path) -> Result<Self, ClientsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ClientsError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let invalid = |reason: String| ClientsError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let file: ClientsFile =
            toml::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        let mut names = BTreeSet::new();
        for client in &file.clients {
            if !names.insert(client.name.as_str()) {
                return Err(invalid(format!("client {:?} appears twice", client.name)));
            }
            if client.roles.is_empty() {
                return Err(invalid(format!("client {:?} has no roles", client.name)));
            }
            if client.key_sha256.is_none() && client.certificate_sha256.is_none() {
                return Err(invalid(format!(
                    "client {:?} has neither key_sha256 nor certificate_sha256",
                    client.name
                )));
            }
            for hash in [&client.key_sha256, &client.certificate_sha256]
                .into_iter()
                .flatten()
            {
                if decode_sha256(hash).is_none() {
                    return Err(invalid(format!(
                        "client {:?}: {hash:?} is not a SHA-256 in hex",
                        client.name
                    )));
                }
            }
        }
        Ok(file)
    }

    /// Writes the file, readable by its owner only.
    ///
    /// # Errors
    ///
    /// [`ClientsError::Io`].
    pub fn write(&self, path: &Path) -> Result<(), ClientsError> {
        let text = toml::to_string(self).map_err(|error| ClientsError::Invalid {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        let header = "# otpfob-server API clients: managed by `otpfob-server key issue|revoke`.\n# Only hashes of keys are kept here.\n";
        crate::config::write_private(path, format!("{header}{text}").as_bytes()).map_err(|source| {
            ClientsError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Adds a client with a fresh bearer key and returns the key, to be shown once.
    ///
    /// # Errors
    ///
    /// [`ClientsError::Duplicate`], [`ClientsError::Random`].
    pub fn issue(
        &mut self,
        name: &str,
        roles: BTreeSet<Role>,
        certificate_sha256: Option<String>,
    ) -> Result<Zeroizing<String>, ClientsError> {
        if self.clients.iter().any(|client| client.name == name) {
            return Err(ClientsError::Duplicate {
                name: name.to_owned(),
            });
        }
        let key = generate_key()?;
        self.clients.push(ClientEntry {
            name: name.to_owned(),
            roles,
            key_sha256: Some(hex(&Sha256::digest(key.as_bytes()))),
            certificate_sha256,
        });
        Ok(key)
    }

    /// Removes a client: its key stops working when the server next reads the file.
    ///
    /// # Errors
    ///
    /// [`ClientsError::Unknown`].
    pub fn revoke(&mut self, name: &str) -> Result<(), ClientsError> {
        let before = self.clients.len();
        self.clients.retain(|client| client.name != name);
        if self.clients.len() == before {
            return Err(ClientsError::Unknown {
                name: name.to_owned(),
            });
        }
        Ok(())
    }
}

/// A fresh bearer key: `ofk_` and 32 random bytes in unpadded base64url.
///
/// # Errors
///
/// [`ClientsError::Random`] if the operating system gives no randomness.
pub fn generate_key() -> Result<Zeroizing<String>, ClientsError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|error| ClientsError::Random(error.to_string()))?;
    Ok(Zeroizing::new(format!(
        "ofk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())
    )))
}

/// Lower-case hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_sha256(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// A client the server recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its name, as the audit trail shows it.
    pub name: Arc<str>,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    key_sha256: Option<[u8; 32]>,
    certificate_sha256: Option<[u8; 32]>,
}

/// The clients the server recognises, replaced whole when the file is read again.
#[derive(Debug, Default)]
pub struct Registry {
    clients: RwLock<Arc<Vec<Arc<Client>>>>,
}

impl Registry {
    /// A registry of the clients in `file` (already validated by [`ClientsFile::read`]).
    #[must_use]
    pub fn new(file: &ClientsFile) -> Self {
        let registry = Self::default();
        registry.replace(file);
        registry
    }

    /// Replaces every client by those of `file`.
    pub fn replace(&self, file: &ClientsFile) {
        let clients = file
            .clients
            .iter()
            .map(|entry| {
                Arc::new(Client {
                    name: Arc::from(entry.name.as_str()),
                    roles: entry.roles.clone(),
                    key_sha256: entry.key_sha256.as_deref().and_then(decode_sha256),
                    certificate_sha256: entry.certificate_sha256.as_deref().and_then(decode_sha256),
                })
            })
            .collect();
        *self
            .clients
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(clients);
    }

    /// The client these credentials belong to, if any: a bearer key (with its
    /// certificate, for a client that has one registered) or a certificate alone (for
    /// a certificate-only client).
    ///
    /// # Security
    ///
    /// Every client's hashes are compared in constant time, without stopping at a match.
    #[must_use]
    pub fn authenticate(
        &self,
        bearer: Option<&str>,
        certificate_sha256: Option<&[u8; 32]>,
    ) -> Option<Arc<Client>> {
        let clients = Arc::clone(
            &self
                .clients
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let key_hash: Option<[u8; 32]> = bearer.map(|key| Sha256::digest(key.as_bytes()).into());
        let mut found = None;
        for client in clients.iter() {
            let key_ok = match (&client.key_sha256, &key_hash) {
                (Some(stored), Some(given)) => bool::from(stored.ct_eq(given)),
                (Some(_), None) => false,
                // A certificate-only client is not matched by a bearer key.
                (None, Some(_)) => false,
                (None, None) => true,
            };
            let certificate_ok = match (&client.certificate_sha256, certificate_sha256) {
                (Some(stored), Some(given)) => bool::from(stored.ct_eq(given)),
                (Some(_), None) => false,
                (None, _) => client.key_sha256.is_some(),
            };
            if key_ok && certificate_ok && found.is_none() {
                found = Some(Arc::clone(client));
            }
        }
        found
    }
}

/// What the transport knows of a connection: the peer and its client certificate.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    /// The peer's address.
    pub peer: SocketAddr,
    /// The SHA-256 of the peer's TLS client certificate, if it sent one.
    pub certificate_sha256: Option<[u8; 32]>,
}

/// The client a request was authenticated as (set by the authentication layer).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Arc<Client>);

/// A set of roles an endpoint accepts.
pub trait Allowed: Send + Sync + 'static {
    /// The roles, any one of which will do.
    const ROLES: &'static [Role];
}

macro_rules! role_sets {
    ($($(#[$doc:meta])* $name:ident => [$($role:ident),+];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Allowed for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    )+};
}

role_sets! {
    /// Verifying codes and OCRA login responses.
    Verifier => [Verify];
    /// Transaction signing.
    Signer => [Sign];
    /// Help-desk changes: unlock, resync, enable, disable.
    Helpdesk => [Helpdesk];
    /// Reading token state and lists.
    StateReader => [Helpdesk, Admin];
    /// Setting or clearing a server-side PIN.
    PinSetter => [Helpdesk, Admin];
    /// Enrolment, import, delete, reseal.
    Administrator => [Admin];
    /// Reading audit trails.
    AuditReader => [Audit, Helpdesk];
    /// Scraping `/metrics`.
    MetricsReader => [Metrics];
}

/// The authenticated client, checked to hold one of `R`'s roles: 401 without valid
/// credentials, 403 without the role. Put it first among a handler's extractors, so
/// that nothing about the request (not even its token id) is looked at before.
#[derive(Debug)]
pub struct Caller<R: Allowed> {
    /// The client.
    pub client: Arc<Client>,
    _roles: std::marker::PhantomData<R>,
}

impl<R: Allowed> Caller<R> {
    /// The client's name, for the audit trail.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.client.name
    }
}

impl<S: Send + Sync, R: Allowed> FromRequestParts<S> for Caller<R> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(Authenticated(client)) = parts.extensions.get::<Authenticated>().cloned() else {
            return Err(Problem::unauthenticated());
        };
        if R::ROLES.iter().any(|role| client.roles.contains(role)) {
            Ok(Self {
                client,
                _roles: std::marker::PhantomData,
            })
        } else {
            Err(Problem::forbidden(R::ROLES))
        }
    }
}

/// The bearer key of a request, if it has a well-formed `Authorization: Bearer` header.
#[must_use]
pub fn bearer(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_certificates_and_both() {
        let mut file = ClientsFile::default();
        let key = file
            .issue("by-key", BTreeSet::from([Role::Verify]), None)
            .unwrap();
        let certificate = [7u8; 32];
        let both = file
            .issue(
                "by-both",
                BTreeSet::from([Role::Sign]),
                Some(hex(&certificate)),
            )
            .unwrap();
        file.clients.push(ClientEntry {
            name: "by-certificate".to_owned(),
            roles: BTreeSet::from([Role::Audit]),
            key_sha256: None,
            certificate_sha256: Some(hex(&[9u8; 32])),
        });
        let registry = Registry::new(&file);
        let name = |client: Option<Arc<Client>>| client.map(|client| client.name.to_string());
        assert_eq!(
            name(registry.authenticate(Some(&key), None)).as_deref(),
            Some("by-key")
        );
        assert_eq!(name(registry.authenticate(Some("ofk_wrong"), None)), None);
        assert_eq!(name(registry.authenticate(None, None)), None);
        // A key bound to a certificate needs the certificate too.
        assert_eq!(name(registry.authenticate(Some(&both), None)), None);
        assert_eq!(
            name(registry.authenticate(Some(&both), Some(&certificate))).as_deref(),
            Some("by-both")
        );
        assert_eq!(
            name(registry.authenticate(None, Some(&[9u8; 32]))).as_deref(),
            Some("by-certificate")
        );
        // The file keeps hashes only, and a key is 256 random bits.
        let text = toml::to_string(&file).unwrap();
        assert!(!text.contains(&key[4..]));
        assert_eq!(key.len(), 4 + 43);
        // Revoked, a key stops working once the registry is replaced.
        file.revoke("by-key").unwrap();
        registry.replace(&file);
        assert_eq!(name(registry.authenticate(Some(&key), None)), None);
        assert!(file.revoke("by-key").is_err());
    }
}
