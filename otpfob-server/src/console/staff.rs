//! Staff accounts of the console: a name, roles, an Argon2id password hash, and whether
//! the second factor (a TOTP token of their own in the validator) is confirmed.
//!
//! They live in the server's own SQLite file (`staff.db` beside the clients file by
//! default), not in the token store: a staff account is the server's business, not a
//! token's. The second factor *is* a token in the validator (`staff.<name>`), so the
//! validator's one-time use, failure count and lock apply to staff as to customers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use otpfob::TokenId;
use rusqlite::OptionalExtension as _;
use zeroize::Zeroizing;

use crate::auth::Role;

/// The fewest characters a staff password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters a staff password may have (Argon2id hashes any length, but an
/// unbounded one is a way to make the server hash megabytes).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Errors of the staff accounts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaffError {
    /// The database could not be opened, read or written.
    #[error("staff database {path}: {reason}")]
    Database {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A name that is not 1 to 64 of `a-z 0-9 . _ -`.
    #[error("staff name {name:?} is not 1 to 64 of a-z, 0-9, '.', '_', '-'")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// An account of that name exists already.
    #[error("a staff account named {name:?} exists already")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// No account of that name.
    #[error("no staff account named {name:?}")]
    Unknown {
        /// The name.
        name: String,
    },
    /// No roles, or a role the console has no pages for.
    #[error("staff roles must be some of helpdesk, admin, audit; not {roles}")]
    InvalidRoles {
        /// The roles given.
        roles: String,
    },
    /// A password too short or too long (its length is named, never the password).
    #[error(
        "a staff password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, not {length}"
    )]
    InvalidPassword {
        /// How many characters it had.
        length: usize,
    },
    /// Hashing failed, or the operating system gave no randomness.
    #[error("password hashing: {0}")]
    Hashing(String),
}

/// One staff account as stored (the hash, never a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// The name, as audit events show it (`console:<name>`).
    pub name: String,
    /// Its roles: some of helpdesk, admin, audit.
    pub roles: BTreeSet<Role>,
    /// Whether the TOTP second factor has been confirmed with a first code.
    pub factor_confirmed: bool,
    password_hash: String,
}

impl StaffAccount {
    /// The id of this account's TOTP token in the validator.
    ///
    /// # Errors
    ///
    /// None for a name the store accepted; the token id's error otherwise.
    pub fn token_id(&self) -> Result<TokenId, otpfob::validator::TokenIdError> {
        staff_token_id(&self.name)
    }
}

/// The id of staff member `name`'s TOTP token in the validator: `staff.<name>`.
///
/// # Errors
///
/// The token id's error (not for a valid staff name).
pub fn staff_token_id(name: &str) -> Result<TokenId, otpfob::validator::TokenIdError> {
    TokenId::new(format!("staff.{name}"))
}

/// Argon2id cost of new password hashes: OWASP's recommendation (19 MiB, 2 passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl PasswordHashing {
    /// Small parameters for tests only (debug builds hash slowly); never for real staff.
    #[must_use]
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
        }
    }

    fn argon2(self) -> Result<Argon2<'static>, StaffError> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|error| StaffError::Hashing(error.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` with a random salt (PHC string).
    ///
    /// # Errors
    ///
    /// [`StaffError::InvalidPassword`], [`StaffError::Hashing`].
    pub fn hash(self, password: &str) -> Result<String, StaffError> {
        let length = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
            return Err(StaffError::InvalidPassword { length });
        }
        Ok(self
            .argon2()?
            .hash_password(password.as_bytes())
            .map_err(|error| StaffError::Hashing(error.to_string()))?
            .to_string())
    }
}

/// A fresh random password: 24 characters of base64url (144 bits), shown once.
///
/// # Errors
///
/// [`StaffError::Hashing`] if the operating system gives no randomness.
pub fn generate_password() -> Result<Zeroizing<String>, StaffError> {
    use base64::Engine as _;
    let mut bytes = Zeroizing::new([0u8; 18]);
    getrandom::fill(bytes.as_mut()).map_err(|error| StaffError::Hashing(error.to_string()))?;
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
    ))
}

fn check_name(name: &str) -> Result<(), StaffError> {
    let valid = (1..=64).contains(&name.len())
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'_' | b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(StaffError::InvalidName {
            name: name.to_owned(),
        })
    }
}

fn check_roles(roles: &BTreeSet<Role>) -> Result<(), StaffError> {
    let allowed = [Role::Helpdesk, Role::Admin, Role::Audit];
    if roles.is_empty() || roles.iter().any(|role| !allowed.contains(role)) {
        let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        return Err(StaffError::InvalidRoles {
            roles: format!("[{}]", names.join(", ")),
        });
    }
    Ok(())
}

fn roles_text(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The staff database: one SQLite file, one connection behind a mutex (sign-ins are
/// rare; the token store is where the traffic goes).
#[derive(Debug)]
pub struct StaffStore {
    path: PathBuf,
    connection: Mutex<rusqlite::Connection>,
    /// A hash that no password matches, checked for an unknown name so that a wrong
    /// name costs the same Argon2id work as a wrong password. Made at the first
    /// sign-in, not at start-up (it costs as much as a sign-in).
    decoy: std::sync::OnceLock<String>,
}

impl StaffStore {
    /// Opens (creating if needed) the staff database at `path`, mode 0600.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn open(path: &Path) -> Result<Self, StaffError> {
        let database = |error: &dyn std::fmt::Display| StaffError::Database {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        let existed = path.exists();
        let connection = rusqlite::Connection::open(path).map_err(|error| database(&error))?;
        #[cfg(unix)]
        if !existed {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|error| database(&error))?;
        }
        #[cfg(not(unix))]
        let _ = existed;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS staff (
                     name TEXT PRIMARY KEY NOT NULL,
                     roles TEXT NOT NULL,
                     password_hash TEXT NOT NULL,
                     factor_confirmed INTEGER NOT NULL DEFAULT 0
                 );
                 CREATE TABLE IF NOT EXISTS pending_action (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     kind TEXT NOT NULL,
                     target TEXT NOT NULL,
                     reason TEXT NOT NULL,
                     requested_by TEXT NOT NULL,
                     requested_at INTEGER NOT NULL,
                     payload BLOB,
                     state TEXT NOT NULL DEFAULT 'pending',
                     decided_by TEXT,
                     result TEXT
                 );",
            )
            .map_err(|error| database(&error))?;
        Ok(Self {
            path: path.to_owned(),
            connection: Mutex::new(connection),
            decoy: std::sync::OnceLock::new(),
        })
    }

    fn database(&self, error: &dyn std::fmt::Display) -> StaffError {
        StaffError::Database {
            path: self.path.display().to_string(),
            reason: error.to_string(),
        }
    }

    fn decoy(&self) -> Result<&str, StaffError> {
        if let Some(decoy) = self.decoy.get() {
            return Ok(decoy);
        }
        let password = generate_password()?;
        let hash = PasswordHashing::default().hash(&format!("decoy-{}", password.as_str()))?;
        Ok(self.decoy.get_or_init(|| hash))
    }

    pub(crate) fn with<T>(
        &self,
        job: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StaffError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        job(&connection).map_err(|error| self.database(&error))
    }

    /// Creates an account with `password` hashed under `hashing`.
    ///
    /// # Errors
    ///
    /// [`StaffError::InvalidName`], [`StaffError::InvalidRoles`],
    /// [`StaffError::InvalidPassword`], [`StaffError::Duplicate`],
    /// [`StaffError::Database`].
    pub fn create(
        &self,
        name: &str,
        roles: &BTreeSet<Role>,
        password: &str,
        hashing: PasswordHashing,
    ) -> Result<(), StaffError> {
        check_name(name)?;
        check_roles(roles)?;
        let hash = hashing.hash(password)?;
        let inserted = self.with(|connection| {
            connection.execute(
                "INSERT INTO staff (name, roles, password_hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                rusqlite::params![name, roles_text(roles), hash],
            )
        })?;
        if inserted == 0 {
            return Err(StaffError::Duplicate {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Removes an account (its token in the validator is the caller's to delete).
    ///
    /// # Errors
    ///
    /// [`StaffError::Unknown`], [`StaffError::Database`].
    pub fn remove(&self, name: &str) -> Result<(), StaffError> {
        let removed = self
            .with(|connection| connection.execute("DELETE FROM staff WHERE name = ?1", [name]))?;
        if removed == 0 {
            return Err(StaffError::Unknown {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Every account, by name.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn list(&self) -> Result<Vec<StaffAccount>, StaffError> {
        self.with(|connection| {
            let mut statement = connection.prepare(
                "SELECT name, roles, password_hash, factor_confirmed FROM staff ORDER BY name",
            )?;
            let rows = statement.query_map([], row_account)?;
            rows.collect()
        })
    }

    /// The account named `name`, if any.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn find(&self, name: &str) -> Result<Option<StaffAccount>, StaffError> {
        self.with(|connection| {
            connection
                .query_row(
                    "SELECT name, roles, password_hash, factor_confirmed FROM staff WHERE name = ?1",
                    [name],
                    row_account,
                )
                .optional()
        })
    }

    /// Records that `name` confirmed the second factor (or, with `false`, that it must
    /// be enrolled again at the next sign-in).
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn set_factor_confirmed(&self, name: &str, confirmed: bool) -> Result<(), StaffError> {
        self.with(|connection| {
            connection.execute(
                "UPDATE staff SET factor_confirmed = ?2 WHERE name = ?1",
                rusqlite::params![name, confirmed],
            )
        })
        .map(|_| ())
    }

    /// The account whose name and password these are, if any.
    ///
    /// # Security
    ///
    /// An unknown name is checked against a decoy hash of the default cost, so that
    /// it takes as long as a wrong password and the answer does not tell which.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<StaffAccount>, StaffError> {
        let account = if check_name(name).is_ok() {
            self.find(name)?
        } else {
            None
        };
        let hash = match &account {
            Some(account) => account.password_hash.as_str(),
            None => self.decoy()?,
        };
        let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
            password.len() <= MAX_PASSWORD_CHARS * 4
                && Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
        });
        Ok(account.filter(|_| matches))
    }
}

fn row_account(row: &rusqlite::Row<'_>) -> rusqlite::Result<StaffAccount> {
    let roles: String = row.get(1)?;
    Ok(StaffAccount {
        name: row.get(0)?,
        roles: roles.split(',').filter_map(Role::from_name).collect(),
        password_hash: row.get(2)?,
        factor_confirmed: row.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, StaffStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = StaffStore::open(&dir.path().join("staff.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn accounts_are_checked_by_password_and_refuse_bad_values() {
        let (_dir, store) = store();
        let fast = PasswordHashing::insecure_fast_for_tests();
        let roles = BTreeSet::from([Role::Helpdesk]);
        store
            .create("alice", &roles, "correct horse battery", fast)
            .unwrap();
        let found = store
            .check_password("alice", "correct horse battery")
            .unwrap()
            .unwrap();
        assert_eq!(found.roles, roles);
        assert!(!found.factor_confirmed);
        assert!(
            store
                .check_password("alice", "wrong horse battery")
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .check_password("bob", "correct horse battery")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store.create("alice", &roles, "correct horse battery", fast),
            Err(StaffError::Duplicate { .. })
        ));
        assert!(matches!(
            store.create("Alice Smith", &roles, "correct horse battery", fast),
            Err(StaffError::InvalidName { .. })
        ));
        assert!(matches!(
            store.create(
                "carol",
                &BTreeSet::from([Role::Verify]),
                "correct horse battery",
                fast
            ),
            Err(StaffError::InvalidRoles { .. })
        ));
        let short = store.create("dave", &roles, "short", fast).unwrap_err();
        assert!(matches!(short, StaffError::InvalidPassword { length: 5 }));
        assert!(!short.to_string().contains("short"));
        // Only the hash is stored.
        let stored: String = store
            .with(|connection| {
                connection.query_row("SELECT password_hash FROM staff", [], |row| row.get(0))
            })
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("horse"));
        store.set_factor_confirmed("alice", true).unwrap();
        assert!(store.find("alice").unwrap().unwrap().factor_confirmed);
        store.remove("alice").unwrap();
        assert!(store.find("alice").unwrap().is_none());
    }
}
