//! The optional server-side PIN (as privacyIDEA and LinOTP offer): typed before the
//! code, stored only as an Argon2id hash.

use core::fmt;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};

use crate::validator::error::ValidatorError;

/// The fewest characters a server-side PIN may have.
pub const MIN_PIN_CHARS: usize = 4;
/// The most characters a server-side PIN may have.
pub const MAX_PIN_CHARS: usize = 64;

/// A server-side PIN hashed with Argon2id, in the PHC string format
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), which carries its own parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(Arc<str>);

impl PinHash {
    /// Wraps a stored PHC string, checking that it is an Argon2id hash.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Pin`] if it is not a well-formed Argon2id PHC string.
    pub fn from_phc(phc: impl Into<String>) -> Result<Self, ValidatorError> {
        let phc = phc.into();
        let parsed = PasswordHash::new(&phc).map_err(|error| ValidatorError::Pin {
            reason: format!("stored PIN hash is malformed: {error}"),
        })?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(ValidatorError::Pin {
                reason: format!("stored PIN hash uses {}, not argon2id", parsed.algorithm),
            });
        }
        Ok(Self(Arc::from(phc)))
    }

    /// The PHC string, for storage.
    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PinHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("PinHash(argon2id, [REDACTED])")
    }
}

/// Argon2id cost parameters for new PIN hashes.
///
/// The default is OWASP's recommendation for Argon2id (19 MiB, 2 passes, 1 lane):
/// tens of milliseconds per check, which is what makes a stolen table of hashes of
/// short PINs expensive to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PinHashing {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
}

impl Default for PinHashing {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl PinHashing {
    /// Small parameters for tests and simulations only; never for real PINs.
    #[must_use]
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
        }
    }

    /// Checks that Argon2id accepts this cost.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Pin`] naming what Argon2 refuses (memory below 8 KiB, no
    /// pass, …).
    pub fn validate(&self) -> Result<(), ValidatorError> {
        self.argon2().map(drop)
    }

    fn argon2(&self) -> Result<Argon2<'static>, ValidatorError> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None).map_err(|error| {
            ValidatorError::Pin {
                reason: format!("invalid Argon2 parameters: {error}"),
            }
        })?;
        Ok(Argon2::new(
            Argon2Algorithm::Argon2id,
            Version::V0x13,
            params,
        ))
    }

    /// Hashes a new PIN with a random salt.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Pin`] if the PIN has fewer than [`MIN_PIN_CHARS`] or more
    /// than [`MAX_PIN_CHARS`] characters or holds control characters, or if hashing
    /// fails.
    pub fn hash(&self, pin: &str) -> Result<PinHash, ValidatorError> {
        check_pin_format(pin)?;
        let phc = self
            .argon2()?
            .hash_password(pin.as_bytes())
            .map_err(|error| ValidatorError::Pin {
                reason: format!("hashing failed: {error}"),
            })?;
        Ok(PinHash(Arc::from(phc.to_string())))
    }
}

impl PinHashing {
    /// Whether `hash` is an Argon2id hash made at exactly this cost (memory, passes,
    /// one lane). A hash carried from another server (privacyIDEA writes
    /// `m=65536,t=9,p=4`) is not, and is rehashed at the first accepted code.
    pub(crate) fn is_current(&self, hash: &PinHash) -> bool {
        let expected = format!("m={},t={},p=1", self.memory_kib, self.iterations);
        let fields: Vec<&str> = hash.as_phc().split('$').collect();
        matches!(
            fields[..],
            ["", "argon2id", "v=19", parameters, _, _] if parameters == expected
        )
    }

    /// A hash under these parameters that no PIN matches, made without paying for
    /// them: a cheap hash of a random PIN with its parameters rewritten to these. A
    /// check against it runs Argon2id at this cost, as against a real hash, and fails.
    /// The decoy (issue 11, item 2) uses it.
    pub(crate) fn unmatchable(&self, random_pin: &str) -> Result<PinHash, ValidatorError> {
        self.argon2()?;
        let cheap = Self::insecure_fast_for_tests().hash(random_pin)?;
        let mut fields: Vec<&str> = cheap.as_phc().split('$').collect();
        let parameters = format!("m={},t={},p=1", self.memory_kib, self.iterations);
        match fields.get_mut(3) {
            Some(field) if field.starts_with("m=") => *field = &parameters,
            _ => {
                return Err(ValidatorError::Pin {
                    reason: "unexpected PHC layout".to_owned(),
                });
            }
        }
        PinHash::from_phc(fields.join("$"))
    }
}

fn check_pin_format(pin: &str) -> Result<(), ValidatorError> {
    let characters = pin.chars().count();
    if !(MIN_PIN_CHARS..=MAX_PIN_CHARS).contains(&characters) {
        return Err(ValidatorError::Pin {
            reason: format!(
                "a PIN has {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters, not {characters}"
            ),
        });
    }
    if pin.chars().any(char::is_control) {
        return Err(ValidatorError::Pin {
            reason: "a PIN may not contain control characters".to_owned(),
        });
    }
    Ok(())
}

/// Whether `pin` matches `hash`; the comparison inside Argon2's verifier is constant
/// time. Any malformed input is simply a mismatch.
pub(crate) fn pin_matches(hash: &PinHash, pin: &str) -> bool {
    #[cfg(test)]
    PIN_CHECKS.with(|checks| checks.set(checks.get() + 1));
    let Ok(parsed) = PasswordHash::new(hash.as_phc()) else {
        return false;
    };
    Argon2::default()
        .verify_password(pin.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
thread_local! {
    /// How many times this thread ran Argon2id on a PIN, for the tests that check the
    /// work is uniform.
    pub(crate) static PIN_CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hash_at_this_cost_is_current() {
        let hashing = PinHashing::insecure_fast_for_tests();
        assert!(hashing.is_current(&hashing.hash("2468").unwrap()));
        assert!(!PinHashing::default().is_current(&hashing.hash("2468").unwrap()));
        // privacyIDEA's cost, four lanes.
        let carried = PinHash::from_phc(
            "$argon2id$v=19$m=65536,t=9,p=4$AOB8DyHk/B9jDOF8jxGi9A$hLBxJWHLVc9Pok8Ody88aURFATuWc43QGfBgEAIzucc",
        )
        .unwrap();
        let same_memory = PinHashing {
            memory_kib: 65536,
            iterations: 9,
        };
        assert!(!same_memory.is_current(&carried));
    }

    #[test]
    fn hash_and_verify() {
        let hashing = PinHashing::insecure_fast_for_tests();
        let hash = hashing.hash("2468").unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(pin_matches(&hash, "2468"));
        assert!(!pin_matches(&hash, "2469"));
        assert!(!pin_matches(&hash, ""));
        assert_eq!(format!("{hash:?}"), "PinHash(argon2id, [REDACTED])");
        let stored = PinHash::from_phc(hash.as_phc()).unwrap();
        assert!(pin_matches(&stored, "2468"));
    }

    #[test]
    fn an_unmatchable_hash_costs_what_its_parameters_say() {
        let hashing = PinHashing {
            memory_kib: 256,
            iterations: 3,
        };
        let hash = hashing.unmatchable("12345678").unwrap();
        let parsed = PasswordHash::new(hash.as_phc()).unwrap();
        assert_eq!(parsed.params.get_str("m"), Some("256"));
        assert_eq!(parsed.params.get_str("t"), Some("3"));
        // Not even the PIN it was made from matches: its output is for other costs.
        assert!(!pin_matches(&hash, "12345678"));
    }

    #[test]
    fn bad_pins_and_hashes_are_refused() {
        let hashing = PinHashing::insecure_fast_for_tests();
        assert!(hashing.hash("123").is_err());
        assert!(hashing.hash(&"9".repeat(65)).is_err());
        assert!(hashing.hash("12\n34").is_err());
        assert!(PinHash::from_phc("not a hash").is_err());
        assert!(
            PinHash::from_phc("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                .is_err()
        );
    }
}
