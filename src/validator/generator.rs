//! What makes a token's codes for the decision: a generator whose keyed HMAC is in the
//! process's memory ([`Hotp`]), or, in strict mode, one whose HMAC key never leaves a
//! hardware security module ([`TokenKeyBackend`]).

use core::fmt;
use std::sync::Arc;

use crate::code::Code;
use crate::hotp::{Hotp, HotpParameters, MIN_OTP_DIGITS};
use crate::secret::Secret;
use crate::validator::keyring_backend::BackendError;
use crate::validator::record::Incarnation;
use crate::validator::token_id::TokenId;

/// Makes the code of each counter of one token, for [`decide`](crate::validator::decide).
pub trait CodeGenerator {
    /// The token's algorithm and digits.
    fn parameters(&self) -> HotpParameters;

    /// The code for `counter`; if it could not be computed (an HSM that failed), a code
    /// that matches nothing, with [`CodeGenerator::failed`] then `true`.
    fn at(&self, counter: u64) -> Code;

    /// Whether any [`CodeGenerator::at`] failed: the decision taken with this generator
    /// must then be thrown away and the code rejected (fail closed).
    fn failed(&self) -> bool {
        false
    }
}

impl CodeGenerator for Hotp {
    fn parameters(&self) -> HotpParameters {
        Hotp::parameters(self)
    }

    fn at(&self, counter: u64) -> Code {
        Hotp::at(self, counter)
    }
}

/// A code no token makes (5 digits, below every token's length), for a counter whose
/// code could not be computed: it never matches.
pub fn unmatchable_code() -> Code {
    Code::from_truncated(0, MIN_OTP_DIGITS - 1)
}

/// Strict mode: each token's HMAC key kept inside a backend (a hardware security
/// module), which computes every HMAC; the validator never holds the seed or a keyed
/// HMAC state of a token after enrolment.
///
/// # Security
///
/// An implementation must import the secret as a key that cannot be read back
/// (sensitive, non-extractable), find it only by the token id and incarnation it was
/// imported for (so a re-enrolled token never uses its predecessor's key), compute
/// HMAC-SHA-1, -SHA-256 and -SHA-512 inside the backend, and fail closed with a
/// [`BackendError`] when it cannot.
pub trait TokenKeyBackend: fmt::Debug + Send + Sync {
    /// Imports `secret` as the HMAC key of `token` in this incarnation; one already
    /// there is left as it is.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] saying why the backend could not take it.
    fn import(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        secret: &Secret,
    ) -> Result<(), BackendError>;

    /// A generator computing the token's codes inside the backend.
    ///
    /// # Errors
    ///
    /// [`BackendError::MissingKey`] if the token's key was never imported, another
    /// [`BackendError`] if the backend cannot be used.
    fn generator<'a>(
        &'a self,
        token: &TokenId,
        incarnation: Incarnation,
        parameters: HotpParameters,
    ) -> Result<Box<dyn CodeGenerator + 'a>, BackendError>;

    /// Removes the token's key (after the token is deleted); none is fine.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] if the backend cannot be used.
    fn remove(&self, token: &TokenId, incarnation: Incarnation) -> Result<(), BackendError>;
}

impl<T: TokenKeyBackend + ?Sized> TokenKeyBackend for Arc<T> {
    fn import(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        secret: &Secret,
    ) -> Result<(), BackendError> {
        (**self).import(token, incarnation, secret)
    }

    fn generator<'a>(
        &'a self,
        token: &TokenId,
        incarnation: Incarnation,
        parameters: HotpParameters,
    ) -> Result<Box<dyn CodeGenerator + 'a>, BackendError> {
        (**self).generator(token, incarnation, parameters)
    }

    fn remove(&self, token: &TokenId, incarnation: Incarnation) -> Result<(), BackendError> {
        (**self).remove(token, incarnation)
    }
}

/// The generator of one verification: cached in memory, or in the backend.
pub(crate) enum Generator<'a> {
    Memory(Arc<Hotp>),
    Backend(Box<dyn CodeGenerator + 'a>),
}

impl CodeGenerator for Generator<'_> {
    fn parameters(&self) -> HotpParameters {
        match self {
            Generator::Memory(hotp) => hotp.parameters(),
            Generator::Backend(generator) => generator.parameters(),
        }
    }

    fn at(&self, counter: u64) -> Code {
        match self {
            Generator::Memory(hotp) => hotp.at(counter),
            Generator::Backend(generator) => generator.at(counter),
        }
    }

    fn failed(&self) -> bool {
        match self {
            Generator::Memory(_) => false,
            Generator::Backend(generator) => generator.failed(),
        }
    }
}
