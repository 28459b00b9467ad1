//! Sealing keys inside a hardware security module, through PKCS#11 (feature `pkcs11`).
//!
//! A [`Pkcs11Key`] is a [`KeyringBackend`] whose keys are two objects in a PKCS#11
//! token, both generated inside it as sensitive and non-extractable, so that their
//! values never leave it:
//! - an AES-256 key labelled with the configured key label, that seals and opens token
//!   secrets with `CKM_AES_GCM` inside the token (the keyring's random 96-bit nonce,
//!   the token id in the associated data, a 128-bit tag: the same bytes
//!   [`SealingKey`](crate::SealingKey) writes, so either reads the other's format);
//! - a generic-secret key of 32 bytes labelled `<key label>.record-mac`, with which the
//!   token computes the record MACs (`CKM_SHA256_HMAC`). A separate object, not a
//!   derivation from the AES key, because a non-extractable AES key cannot key an HMAC
//!   in the token, and a derived value brought out of it would put the record MAC key
//!   back into the process's memory.
//!
//! # Security
//!
//! A memory dump of the validator holds no sealing or record MAC key, only the user
//! PIN (kept zeroized on drop) and the secrets opened for the verifications under way
//! (the generator cache keeps keyed HMAC states of busy tokens: turn it off with
//! `Validator::with_generator_cache(0)` where that matters). Anyone who can run code
//! as the validator can still ask the token to open seeds while the process runs; the
//! HSM bounds the theft to that window and that host.
//!
//! Every failure (module missing, token absent, PIN refused, key object deleted,
//! session lost) is a typed [`BackendError`] and the validator rejects. A lost session
//! is dropped and a fresh one opened (and logged in) on the next call, so the key
//! comes back by itself when the token does.

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::Algorithm;
use crate::code::Code;
use crate::hotp::{HotpParameters, dynamic_truncate};
use crate::secret::Secret;
use crate::validator::generator::{CodeGenerator, TokenKeyBackend, unmatchable_code};
use crate::validator::keyring_backend::{BackendError, KeyringBackend};
use crate::validator::record::Incarnation;
use crate::validator::sealed::{NONCE_LEN, RECORD_MAC_LEN, TAG_LEN};
use crate::validator::token_id::TokenId;

/// The suffix of the record MAC key object's label.
pub const RECORD_MAC_LABEL_SUFFIX: &str = ".record-mac";

/// Bytes of the record MAC key generated in the token.
const RECORD_MAC_KEY_LEN: u64 = 32;

/// Bytes of the AES key generated in the token (AES-256).
const AES_KEY_LEN: u64 = 32;

/// The shortest time between two restarts of a module while its token is missing, so
/// that an outage does not turn every verification into a `C_Finalize` and
/// `C_Initialize`.
const RESTART_INTERVAL: Duration = Duration::from_secs(1);

/// Which token of the module holds the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSelector {
    /// The token in this slot number.
    Slot(u64),
    /// The token with this label (the label given when it was initialised).
    Label(String),
}

impl fmt::Display for TokenSelector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSelector::Slot(slot) => write!(formatter, "in slot {slot}"),
            TokenSelector::Label(label) => write!(formatter, "labelled {label:?}"),
        }
    }
}

/// Where the user PIN comes from: a file or an environment variable, never a command
/// line (where every user of the machine can read it in the process list).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinSource {
    /// A file holding the PIN (one trailing line break is ignored); make it readable
    /// by the validator's user only.
    File(PathBuf),
    /// An environment variable holding the PIN.
    Environment(String),
}

impl PinSource {
    /// Reads the PIN.
    ///
    /// # Errors
    ///
    /// [`BackendError::PinSource`] if the file cannot be read, the variable is unset,
    /// or the PIN is empty or not UTF-8.
    fn read(&self) -> Result<AuthPin, BackendError> {
        let (source_name, read) = match self {
            PinSource::File(path) => (
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|error| error.to_string()),
            ),
            PinSource::Environment(variable) => (
                format!("environment variable {variable}"),
                std::env::var(variable).map_err(|error| error.to_string()),
            ),
        };
        let text = Zeroizing::new(read.map_err(|reason| BackendError::PinSource {
            source_name: source_name.clone(),
            reason,
        })?);
        let pin = text
            .strip_suffix('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .unwrap_or(&text);
        if pin.is_empty() {
            return Err(BackendError::PinSource {
                source_name,
                reason: "the PIN is empty".into(),
            });
        }
        Ok(AuthPin::from(pin))
    }
}

/// Where a [`Pkcs11Key`] is: the module, the token, the key's label and the user PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Config {
    /// The PKCS#11 module (a shared library: SoftHSM2's
    /// `/usr/lib/softhsm/libsofthsm2.so`, or the HSM vendor's).
    pub module: PathBuf,
    /// The token holding the keys.
    pub token: TokenSelector,
    /// The AES key object's label; the record MAC key's is this followed by
    /// [`RECORD_MAC_LABEL_SUFFIX`].
    pub key_label: String,
    /// Where the user PIN is read from.
    pub pin: PinSource,
}

impl Pkcs11Config {
    /// A configuration from its four parts.
    #[must_use]
    pub fn new(
        module: impl Into<PathBuf>,
        token: TokenSelector,
        key_label: impl Into<String>,
        pin: PinSource,
    ) -> Self {
        Self {
            module: module.into(),
            token,
            key_label: key_label.into(),
            pin,
        }
    }

    /// The same token and PIN, another key label: the next key of a rotation.
    #[must_use]
    pub fn with_key_label(&self, key_label: impl Into<String>) -> Self {
        Self {
            key_label: key_label.into(),
            ..self.clone()
        }
    }

    fn record_mac_label(&self) -> String {
        format!("{}{RECORD_MAC_LABEL_SUFFIX}", self.key_label)
    }
}

/// A sealing key inside a PKCS#11 token (see the [module documentation](self)).
///
/// ```no_run
/// use otpfob::Keyring;
/// use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};
///
/// let config = Pkcs11Config::new(
///     "/usr/lib/softhsm/libsofthsm2.so",
///     TokenSelector::Label("otpfob".into()),
///     "otpfob-sealing-1",
///     PinSource::File("/etc/otpfob/hsm-pin".into()),
/// );
/// // Once, when the key is made: generated inside the token, never extractable.
/// Pkcs11Key::generate(1, &config)?;
/// // At every start of the validator:
/// let keyring = Keyring::new(Pkcs11Key::open(1, &config)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pkcs11Key {
    key_id: u32,
    config: Pkcs11Config,
    module: Arc<Module>,
    pin: AuthPin,
    /// Logged-in sessions not in use, each with the key objects found through it.
    idle: Mutex<Vec<Connection>>,
}

/// A logged-in session and the handles of the two key objects in it.
struct Connection {
    session: Session,
    aes: ObjectHandle,
    record_mac: ObjectHandle,
    /// The module's generation the session was opened in.
    generation: u64,
}

/// One module's library, initialised once per process and shared by every key in it.
struct Module {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    last_restart: Mutex<Option<Instant>>,
}

struct Loaded {
    context: Pkcs11,
    /// Counts the module's restarts: sessions of an earlier generation were closed by
    /// its `C_Finalize`.
    generation: u64,
}

impl Module {
    fn read(&self) -> RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Finalises and initialises the module again, so that it looks for its tokens
    /// anew: SoftHSM2 (and some hardware modules) find a token that went away and came
    /// back only then. Returns whether the caller should try again: `false` if the
    /// last restart was too recent. Takes the write lock, so no operation is under way
    /// on any session of the module meanwhile.
    fn restart(&self, seen_generation: u64) -> bool {
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        if loaded.generation != seen_generation {
            // Another thread restarted it already.
            return true;
        }
        let mut last = self
            .last_restart
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < RESTART_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        // Whatever C_Finalize answers, every session of the old generation is gone or
        // unusable; a failed C_Initialize shows up as the next call's error.
        let _ = loaded.context.clone().finalize();
        let _ = initialize(&loaded.context);
        loaded.generation += 1;
        true
    }
}

fn initialize(context: &Pkcs11) -> Result<(), CryptokiError> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(error) => Err(error),
    }
}

impl Drop for Pkcs11Key {
    fn drop(&mut self) {
        let loaded = self.module.read();
        let idle = core::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for connection in idle {
            discard(connection, loaded.generation);
        }
    }
}

/// Drops a connection of the current generation (closing its session); forgets one
/// of an earlier generation, whose session `C_Finalize` closed already: closing its
/// handle again could close a newer session that reuses the number.
fn discard(connection: Connection, generation: u64) {
    if connection.generation == generation {
        drop(connection);
    } else {
        core::mem::forget(connection);
    }
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Pkcs11Key")
            .field("key_id", &self.key_id)
            .field("module", &self.config.module)
            .field("token", &self.config.token)
            .field("key_label", &self.config.key_label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Generates the AES-256 key and the record MAC key inside the token (sensitive,
    /// non-extractable, persistent) under the configured label, and returns the key.
    ///
    /// # Errors
    ///
    /// [`BackendError::KeyExists`] if a key object with the label is already in the
    /// token (so a key in use is never replaced by accident), and the errors of
    /// [`Pkcs11Key::open`].
    pub fn generate(key_id: u32, config: &Pkcs11Config) -> Result<Self, BackendError> {
        // One key creation at a time in this process: SoftHSM2's file-backed token
        // answered concurrent creations (the test suites' threads) with
        // CKR_GENERAL_ERROR, and creating a key is a rare, administrative act.
        static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _creating = CREATING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = Self::unconnected(key_id, config)?;
        let loaded = key.module.read();
        let session = key.login(&loaded.context)?;
        let record_mac_label = config.record_mac_label();
        for label in [&config.key_label, &record_mac_label] {
            let found = session
                .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
                .map_err(|error| key.failure(error))?;
            if !found.is_empty() {
                return Err(BackendError::KeyExists {
                    label: label.clone(),
                });
            }
        }
        let common = |label: &str| {
            vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Label(label.as_bytes().to_vec()),
            ]
        };
        let mut aes = common(&config.key_label);
        aes.extend([
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(AES_KEY_LEN.into()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ]);
        session
            .generate_key(&Mechanism::AesKeyGen, &aes)
            .map_err(|error| key.failure(error))?;
        let mut record_mac = common(&record_mac_label);
        record_mac.extend([
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::ValueLen(RECORD_MAC_KEY_LEN.into()),
            Attribute::Sign(true),
            Attribute::Verify(true),
        ]);
        session
            .generate_key(&Mechanism::GenericSecretKeyGen, &record_mac)
            .map_err(|error| key.failure(error))?;
        let connection = key.connection(session, loaded.generation)?;
        key.give_back(connection);
        drop(loaded);
        Ok(key)
    }

    /// The key already in the token under the configured label; checks that the token
    /// answers, accepts the PIN and holds both key objects.
    ///
    /// # Errors
    ///
    /// [`BackendError::ModuleUnavailable`], [`BackendError::TokenNotFound`],
    /// [`BackendError::PinSource`], [`BackendError::WrongPin`],
    /// [`BackendError::PinLocked`], [`BackendError::MissingKey`], or
    /// [`BackendError::Device`] for anything else the module refuses.
    pub fn open(key_id: u32, config: &Pkcs11Config) -> Result<Self, BackendError> {
        let key = Self::unconnected(key_id, config)?;
        key.with_connection(|_| Ok(()))?;
        Ok(key)
    }

    /// Destroys both key objects in the token: after a rotation, once `reseal_all`
    /// has moved every record to the next key. Whatever is still sealed under this
    /// key can never be opened again.
    ///
    /// # Errors
    ///
    /// As [`Pkcs11Key::open`].
    pub fn destroy(self) -> Result<(), BackendError> {
        self.with_connection(|connection| {
            connection.session.destroy_object(connection.aes)?;
            connection.session.destroy_object(connection.record_mac)
        })
    }

    /// The configuration this key was opened with.
    #[must_use]
    pub fn config(&self) -> &Pkcs11Config {
        &self.config
    }

    fn unconnected(key_id: u32, config: &Pkcs11Config) -> Result<Self, BackendError> {
        let pin = config.pin.read()?;
        Ok(Self {
            key_id,
            config: config.clone(),
            module: module(&config.module)?,
            pin,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn token_name(&self) -> String {
        self.config.token.to_string()
    }

    fn slot(&self, context: &Pkcs11) -> Result<Slot, BackendError> {
        let slots = context
            .get_slots_with_token()
            .map_err(|error| self.failure(error))?;
        let found = match &self.config.token {
            TokenSelector::Slot(number) => slots.into_iter().find(|slot| slot.id() == *number),
            TokenSelector::Label(label) => slots.into_iter().find(|slot| {
                context
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim_end() == label)
            }),
        };
        found.ok_or_else(|| BackendError::TokenNotFound {
            token: self.token_name(),
        })
    }

    /// A fresh read-write session, logged in as the user.
    fn login(&self, context: &Pkcs11) -> Result<Session, BackendError> {
        let slot = self.slot(context)?;
        let session = context
            .open_rw_session(slot)
            .map_err(|error| self.failure(error))?;
        match session.login(UserType::User, Some(&self.pin)) {
            // Login is per application and token: another session of ours may have
            // logged in already.
            Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(error) => Err(self.failure(error)),
        }
    }

    fn connect(&self, loaded: &Loaded) -> Result<Connection, BackendError> {
        let session = self.login(&loaded.context)?;
        self.connection(session, loaded.generation)
    }

    fn connection(&self, session: Session, generation: u64) -> Result<Connection, BackendError> {
        let aes = self.find(&session, &self.config.key_label, KeyType::AES)?;
        let record_mac = self.find(
            &session,
            &self.config.record_mac_label(),
            KeyType::GENERIC_SECRET,
        )?;
        Ok(Connection {
            session,
            aes,
            record_mac,
            generation,
        })
    }

    fn find(
        &self,
        session: &Session,
        label: &str,
        key_type: KeyType,
    ) -> Result<ObjectHandle, BackendError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(key_type),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(|error| self.failure(error))?;
        found
            .first()
            .copied()
            .ok_or_else(|| BackendError::MissingKey {
                label: label.to_string(),
            })
    }

    fn give_back(&self, connection: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }

    /// An idle connection of the current generation, if any; older ones are forgotten.
    fn idle_connection(&self, generation: u64) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(connection) = idle.pop() {
            if connection.generation == generation {
                return Some(connection);
            }
            discard(connection, generation);
        }
        None
    }

    fn drop_idle(&self, generation: u64) {
        let idle = core::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for connection in idle {
            discard(connection, generation);
        }
    }

    /// Runs `operation` on an idle connection (or a new one). If the session turns out
    /// lost (closed, logged out, the token removed, a key handle gone), every idle
    /// session is dropped and the operation runs again on a fresh one; if no session
    /// can be opened because the token (or the module) is gone, the module is
    /// restarted (at most once per [`RESTART_INTERVAL`]) and tried once more. So a
    /// token that came back, or a key object found again, serves the call.
    fn with_connection<T>(
        &self,
        operation: impl Fn(&Connection) -> Result<T, CryptokiError>,
    ) -> Result<T, BackendError> {
        let mut lost = None;
        let mut restarted = false;
        for _ in 0..3 {
            let loaded = self.module.read();
            let generation = loaded.generation;
            let connection = match self.idle_connection(generation) {
                Some(connection) => connection,
                None => match self.connect(&loaded) {
                    Ok(connection) => connection,
                    Err(
                        error @ (BackendError::TokenNotFound { .. }
                        | BackendError::SessionLost { .. }
                        | BackendError::Device { .. }),
                    ) => {
                        drop(loaded);
                        if restarted || !self.module.restart(generation) {
                            return Err(error);
                        }
                        restarted = true;
                        continue;
                    }
                    Err(error) => return Err(error),
                },
            };
            match operation(&connection) {
                Ok(value) => {
                    self.give_back(connection);
                    return Ok(value);
                }
                Err(error) if session_lost(&error) => {
                    drop(connection);
                    self.drop_idle(generation);
                    lost = Some(error);
                }
                Err(error) => {
                    // The session is fine; only this operation failed.
                    self.give_back(connection);
                    return Err(self.failure(error));
                }
            }
        }
        Err(BackendError::SessionLost {
            reason: lost.map(|error| error.to_string()).unwrap_or_default(),
        })
    }

    /// The typed error for what the module answered.
    fn failure(&self, error: CryptokiError) -> BackendError {
        match error {
            CryptokiError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid, _) => {
                BackendError::WrongPin {
                    token: self.token_name(),
                }
            }
            CryptokiError::Pkcs11(RvError::PinLocked, _) => BackendError::PinLocked {
                token: self.token_name(),
            },
            CryptokiError::Pkcs11(
                RvError::TokenNotPresent | RvError::TokenNotRecognized | RvError::SlotIdInvalid,
                _,
            ) => BackendError::TokenNotFound {
                token: self.token_name(),
            },
            CryptokiError::Pkcs11(
                RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
                | RvError::SignatureInvalid,
                _,
            ) => BackendError::Unauthentic,
            ref error if session_lost(error) => BackendError::SessionLost {
                reason: error.to_string(),
            },
            CryptokiError::Pkcs11(code, function) => BackendError::Device {
                function: format!("{function:?}"),
                reason: format!("{code:?}"),
            },
            other => BackendError::Device {
                function: "cryptoki".into(),
                reason: other.to_string(),
            },
        }
    }
}

/// Whether the module says the session (or what it had found) is gone, so that a
/// fresh session may succeed.
fn session_lost(error: &CryptokiError) -> bool {
    matches!(
        error,
        CryptokiError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::CryptokiNotInitialized,
            _,
        )
    )
}

/// The module at `path`, loaded and initialised once per process: PKCS#11 allows one
/// `C_Initialize` per process, and every key in the same module shares it.
fn module(path: &Path) -> Result<Arc<Module>, BackendError> {
    static MODULES: Mutex<Vec<Arc<Module>>> = Mutex::new(Vec::new());
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(module) = modules.iter().find(|module| module.path == path) {
        return Ok(Arc::clone(module));
    }
    let unavailable = |error: CryptokiError| BackendError::ModuleUnavailable {
        module: path.display().to_string(),
        reason: error.to_string(),
    };
    let context = Pkcs11::new(path).map_err(unavailable)?;
    initialize(&context).map_err(unavailable)?;
    let module = Arc::new(Module {
        path: path.to_path_buf(),
        loaded: RwLock::new(Loaded {
            context,
            generation: 0,
        }),
        last_restart: Mutex::new(None),
    });
    modules.push(Arc::clone(&module));
    Ok(module)
}

impl KeyringBackend for Pkcs11Key {
    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let sealed = self.with_connection(|connection| {
            let mut iv = *nonce;
            let parameters = GcmParams::new(&mut iv, associated_data, tag_bits())?;
            connection
                .session
                .encrypt(&Mechanism::AesGcm(parameters), connection.aes, plaintext)
        })?;
        if sealed.len() != plaintext.len() + TAG_LEN {
            return Err(BackendError::Device {
                function: "Encrypt".into(),
                reason: format!(
                    "AES-GCM returned {} bytes for {} bytes of plaintext",
                    sealed.len(),
                    plaintext.len()
                ),
            });
        }
        Ok(sealed)
    }

    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        if sealed.len() < TAG_LEN {
            return Err(BackendError::Unauthentic);
        }
        let opened = self.with_connection(|connection| {
            let mut iv = *nonce;
            let parameters = GcmParams::new(&mut iv, associated_data, tag_bits())?;
            match connection
                .session
                .decrypt(&Mechanism::AesGcm(parameters), connection.aes, sealed)
            {
                Ok(plaintext) => Ok(Some(Zeroizing::new(plaintext))),
                Err(CryptokiError::Pkcs11(
                    RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange,
                    _,
                )) => Ok(None),
                // SoftHSM2 answers a GCM tag mismatch with CKR_GENERAL_ERROR. Tell it
                // from a failing device by asking the token for something else: if it
                // answers, the data did not authenticate; if not, its error is the
                // device's.
                Err(CryptokiError::Pkcs11(RvError::GeneralError, _)) => connection
                    .session
                    .sign(&Mechanism::Sha256Hmac, connection.record_mac, b"probe")
                    .map(|_| None),
                Err(error) => Err(error),
            }
        })?;
        opened.ok_or(BackendError::Unauthentic)
    }

    fn record_mac(&self, message: &[u8]) -> Result<[u8; RECORD_MAC_LEN], BackendError> {
        let tag = self.with_connection(|connection| {
            connection
                .session
                .sign(&Mechanism::Sha256Hmac, connection.record_mac, message)
        })?;
        tag.as_slice().try_into().map_err(|_| BackendError::Device {
            function: "Sign".into(),
            reason: format!("HMAC-SHA-256 returned {} bytes", tag.len()),
        })
    }
}

fn tag_bits() -> cryptoki::types::Ulong {
    // 128 bits: the tag the software backend writes, so both read each other's seals.
    cryptoki::types::Ulong::from(128)
}

/// The label of a token's HMAC key object in strict mode: its id and incarnation, so a
/// re-enrolled token never finds its predecessor's key.
fn token_key_label(token: &TokenId, incarnation: Incarnation) -> String {
    let mut label = format!("otpfob-token:{}:", token.as_str());
    for byte in incarnation.to_bytes() {
        label.push_str(&format!("{byte:02x}"));
    }
    label
}

fn token_key_template(label: &str) -> [Attribute; 2] {
    [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

/// Strict mode in the token: each token's secret becomes a persistent
/// generic-secret key object (sensitive, non-extractable, `CKA_SIGN` only), labelled
/// `otpfob-token:<token id>:<incarnation>`, and every code is the token's
/// `CKM_SHA_1_HMAC`, `CKM_SHA256_HMAC` or `CKM_SHA512_HMAC` of the counter, truncated in
/// the validator (RFC 4226 §5.3: the truncation needs no key). One object per token:
/// check the HSM's object capacity against the number of tokens.
///
/// Why persistent objects rather than unwrapping the sealed secret at each
/// verification: the sealed secrets are AES-GCM (bound to the token id), and PKCS#11
/// modules such as SoftHSM2 do not unwrap with `CKM_AES_GCM`; decrypting instead would
/// bring the seed into memory, which strict mode exists to prevent.
impl TokenKeyBackend for Pkcs11Key {
    fn import(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        secret: &Secret,
    ) -> Result<(), BackendError> {
        let label = token_key_label(token, incarnation);
        self.with_connection(|connection| {
            if !connection
                .session
                .find_objects(&token_key_template(&label))?
                .is_empty()
            {
                return Ok(());
            }
            let mut template = vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Value(secret.expose_bytes().to_vec()),
            ];
            let created = connection.session.create_object(&template);
            for attribute in &mut template {
                if let Attribute::Value(bytes) = attribute {
                    bytes.zeroize();
                }
            }
            created.map(|_| ())
        })
    }

    fn generator<'a>(
        &'a self,
        token: &TokenId,
        incarnation: Incarnation,
        parameters: HotpParameters,
    ) -> Result<Box<dyn CodeGenerator + 'a>, BackendError> {
        let label = token_key_label(token, incarnation);
        let found = self.with_connection(|connection| {
            connection.session.find_objects(&token_key_template(&label))
        })?;
        let handle = found
            .first()
            .copied()
            .ok_or(BackendError::MissingKey { label })?;
        let mechanism = match parameters.algorithm {
            Algorithm::Sha1 => Mechanism::Sha1Hmac,
            Algorithm::Sha256 => Mechanism::Sha256Hmac,
            _ => Mechanism::Sha512Hmac,
        };
        Ok(Box::new(Pkcs11Generator {
            key: self,
            handle,
            mechanism,
            parameters,
            failed: core::cell::Cell::new(false),
        }))
    }

    fn remove(&self, token: &TokenId, incarnation: Incarnation) -> Result<(), BackendError> {
        let label = token_key_label(token, incarnation);
        self.with_connection(|connection| {
            for object in connection
                .session
                .find_objects(&token_key_template(&label))?
            {
                connection.session.destroy_object(object)?;
            }
            Ok(())
        })
    }
}

/// Codes of one token computed by the token's HMAC key object.
struct Pkcs11Generator<'a> {
    key: &'a Pkcs11Key,
    handle: ObjectHandle,
    mechanism: Mechanism<'static>,
    parameters: HotpParameters,
    failed: core::cell::Cell<bool>,
}

impl CodeGenerator for Pkcs11Generator<'_> {
    fn parameters(&self) -> HotpParameters {
        self.parameters
    }

    fn at(&self, counter: u64) -> Code {
        let mac = self.key.with_connection(|connection| {
            connection
                .session
                .sign(&self.mechanism, self.handle, &counter.to_be_bytes())
        });
        match mac {
            Ok(mac) => Code::from_truncated(dynamic_truncate(&mac), self.parameters.digits),
            Err(_) => {
                self.failed.set(true);
                unmatchable_code()
            }
        }
    }

    fn failed(&self) -> bool {
        self.failed.get()
    }
}
