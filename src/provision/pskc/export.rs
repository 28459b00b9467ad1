//! The way back: a validator's tokens exported for another server, as PSKC here and
//! as OATH CSV in `migrate`, every token's export audited before its secret leaves.

use std::sync::Arc;

use thiserror::Error;
use zeroize::Zeroizing;

use super::{ProvisionedToken, PskcError, PskcProtection, write_pskc};
use crate::algorithm::Algorithm;
use crate::clock::{TimeSource, UnixTime};
use crate::hotp::HotpParameters;
use crate::parameters::OtpParameters;
use crate::validator::error::ValidatorError;
use crate::validator::record::{Status, TokenId, TokenKind, TokenState};
use crate::validator::service::Validator;
use crate::validator::service::export::OpenedToken;
use crate::validator::store::Store;

/// The longest actor name an export accepts, in bytes.
pub const MAX_EXPORT_ACTOR_LEN: usize = 256;

/// Why a token was left out of an export: nothing was opened or audited for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportSkip {
    /// It is not in service (disabled, lost, revoked, retired): the other server
    /// would take it as active, as neither format carries a status.
    NotActive(Status),
    /// It is locked (throttling): the lock, and the guesser's failures, would be
    /// forgotten.
    Locked,
    /// Its validity period has ended.
    PastValidity,
    /// It is not an HOTP or TOTP token (an EMV-CAP card).
    NotOtp,
    /// It has an OCRA keypad (RFC 6287), which neither format carries: exporting
    /// its codes alone would drop its transaction signing.
    Keypad,
    /// A TOTP token whose T0 is not 0: PSKC time-based keys count from the epoch.
    TimeOrigin,
    /// OATH CSV has no column for the hash: only SHA-1 tokens are written.
    Hash(Algorithm),
}

/// A token left out of an export, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSkipped {
    /// The token.
    pub token: TokenId,
    /// Why.
    pub reason: ExportSkip,
}

/// An export: the document, the tokens in it and those left out.
///
/// # Security
///
/// The document holds every exported token's secret: encrypted in a PSKC export, in
/// the clear in OATH CSV. It is a zeroizing string; write it only to a file only its
/// owner can read.
#[derive(Debug)]
#[must_use = "the tokens were exported and audited; the document is the only copy"]
#[non_exhaustive]
pub struct TokenExport {
    /// The document (PSKC XML or OATH CSV).
    pub document: Zeroizing<String>,
    /// The tokens written into it, in the order asked, each audited as `export`.
    pub exported: Vec<TokenId>,
    /// The tokens left out, and why.
    pub skipped: Vec<ExportSkipped>,
}

/// Why an export wrote nothing (or, for [`ExportError::Write`], wrote audit events
/// but no document).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The actor is empty, longer than [`MAX_EXPORT_ACTOR_LEN`] or has a control
    /// character: every export names who asked.
    #[error("the actor must be 1 to 256 bytes without control characters")]
    Actor,
    /// A PSKC export must be encrypted (a pre-shared key or a password).
    #[error("a PSKC export is encrypted under a pre-shared key or a password, never in plaintext")]
    Plaintext,
    /// The protection cannot be used (a key of the wrong length, an iteration count
    /// out of range): nothing was opened.
    #[error("the protection cannot be used: {0}")]
    Protection(PskcError),
    /// A token could not be exported (not enrolled, a record that fails its MAC, a
    /// store or keyring failure, a token changed during the export). The tokens
    /// exported before it stay audited; no document is returned.
    #[error("cannot export {token}: {error}")]
    Token {
        /// The token.
        token: TokenId,
        /// Why.
        error: ValidatorError,
    },
    /// The document could not be written after the tokens were opened and audited.
    #[error("cannot write the export: {0}")]
    Write(PskcError),
}

/// The code parameters of a token's kind, or why it is no OTP token.
pub(crate) fn otp_parameters(kind: &TokenKind) -> Result<OtpParameters, ExportSkip> {
    match kind {
        TokenKind::Event { parameters, .. } => Ok(OtpParameters::Hotp(*parameters)),
        TokenKind::Time { parameters, .. } => Ok(OtpParameters::Totp(*parameters)),
        #[allow(unreachable_patterns)]
        _ => Err(ExportSkip::NotOtp),
    }
}

/// Whether a token in `state` may leave at `now`, for a format that also checks its
/// parameters with `format`.
fn exportable(
    state: &TokenState,
    now: UnixTime,
    format: impl Fn(&OtpParameters) -> Result<(), ExportSkip>,
) -> Result<(), ExportSkip> {
    if state.status != Status::Active {
        return Err(ExportSkip::NotActive(state.status));
    }
    if state.lock.holds_at(now) {
        return Err(ExportSkip::Locked);
    }
    if state.validity.not_after.is_some_and(|end| now >= end) {
        return Err(ExportSkip::PastValidity);
    }
    if state.ocra.is_some() {
        return Err(ExportSkip::Keypad);
    }
    format(&otp_parameters(&state.kind)?)
}

/// Checks the actor an export names.
fn checked_actor(actor: &str) -> Result<Arc<str>, ExportError> {
    if actor.is_empty() || actor.len() > MAX_EXPORT_ACTOR_LEN || actor.chars().any(char::is_control)
    {
        return Err(ExportError::Actor);
    }
    Ok(Arc::from(actor))
}

/// Opens every token of `tokens` (duplicates once) that `format` lets go, each
/// audited as `export` on behalf of `actor`.
pub(crate) fn open_tokens<S: Store, C: TimeSource>(
    validator: &Validator<S, C>,
    actor: &str,
    tokens: &[TokenId],
    format: impl Fn(&OtpParameters) -> Result<(), ExportSkip>,
) -> Result<(Vec<OpenedToken>, Vec<ExportSkipped>), ExportError> {
    let actor = checked_actor(actor)?;
    let check = |state: &TokenState, now: UnixTime| exportable(state, now, &format);
    let mut opened: Vec<OpenedToken> = Vec::with_capacity(tokens.len());
    let mut skipped = Vec::new();
    for (index, id) in tokens.iter().enumerate() {
        if tokens[..index].contains(id) {
            continue;
        }
        match validator.open_for_export(Arc::clone(&actor), id, &check) {
            Ok(Ok(token)) => opened.push(token),
            Ok(Err(reason)) => skipped.push(ExportSkipped {
                token: id.clone(),
                reason,
            }),
            Err(error) => {
                return Err(ExportError::Token {
                    token: id.clone(),
                    error,
                });
            }
        }
    }
    Ok((opened, skipped))
}

/// What PSKC writes of an opened token: its id as key id and serial, secret and
/// parameters, the next counter (HOTP) or the learned drift (TOTP), the validity
/// period as start and expiry dates.
fn provisioned(token: OpenedToken) -> ProvisionedToken {
    let parameters =
        otp_parameters(&token.state.kind).unwrap_or(OtpParameters::Hotp(HotpParameters::default()));
    let mut provisioned = ProvisionedToken::new(token.id.as_str(), token.secret, parameters);
    provisioned.serial = Some(token.id.as_str().to_owned());
    match token.state.kind {
        TokenKind::Event { next_counter, .. } => provisioned.counter = next_counter,
        TokenKind::Time { drift_steps, .. } => provisioned.time_drift = drift_steps,
        #[allow(unreachable_patterns)]
        _ => {}
    }
    provisioned.start_date = token.state.validity.not_before;
    provisioned.expiry_date = token.state.validity.not_after;
    provisioned
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Exports `tokens` (from [`Store::list`], or chosen) as an RFC 6030 PSKC
    /// document encrypted under `protection` (a pre-shared key, or a password through
    /// PBKDF2), for another server or a backup: each key's id and serial are the
    /// token's id; HOTP keys carry their next counter, TOTP keys their time step and
    /// learned drift (`<TimeDrift>`); the validity period becomes the key's
    /// `<StartDate>`/`<ExpiryDate>`.
    ///
    /// Tokens that must not leave as they are ([`ExportSkip`]: not active, locked,
    /// past their validity, an EMV-CAP card, an OCRA keypad, a T0 other than 0) are
    /// left out and listed, with nothing opened. Every other token's secret is opened
    /// through the keyring and its export audited (`export`, naming `actor`, chained
    /// into the token's record) before the document is written.
    ///
    /// # Errors
    ///
    /// [`ExportError::Actor`], [`ExportError::Plaintext`] and
    /// [`ExportError::Protection`] before anything is opened;
    /// [`ExportError::Token`] for a token that cannot be exported (the tokens before
    /// it stay audited, no document is returned); [`ExportError::Write`].
    ///
    /// # Security
    ///
    /// Neither the server-side PIN, the owner, the failure count nor a TOTP token's
    /// last accepted step has a place in PSKC: on the other server, the code accepted
    /// here last is good again until its window passes. Export after this validator
    /// stops accepting the tokens, and import after a window's time.
    ///
    /// ```
    /// # #[cfg(feature = "pskc")] {
    /// use otpfob::{Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey, Secret, TokenId, Validator};
    /// use otpfob::pskc::{PskcCredential, PskcProtection, read_pskc};
    /// use otpfob::validator::Store;
    ///
    /// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::new(TokenId::new("FOB-1")?, Secret::from_bytes(b"12345678901234567890")?, HotpParameters::default()).with_counter(3))?;
    /// let key = Secret::from_hex("12345678901234567890123456789012")?;
    /// let protection = PskcProtection::PreSharedKey { key: key.clone(), key_name: "bank".to_owned() };
    /// let export = bank.export_pskc("ops:alice", &bank.store().list()?, &protection)?;
    /// assert_eq!(export.exported, [id]);
    /// let tokens = read_pskc(export.document.as_bytes(), &PskcCredential::PreSharedKey(key))?.tokens()?;
    /// assert_eq!(tokens[0].counter, 3);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_pskc(
        &self,
        actor: &str,
        tokens: &[TokenId],
        protection: &PskcProtection,
    ) -> Result<TokenExport, ExportError> {
        checked_actor(actor)?;
        if matches!(protection, PskcProtection::Plaintext) {
            return Err(ExportError::Plaintext);
        }
        super::write::check_protection(protection).map_err(ExportError::Protection)?;
        let (opened, skipped) = open_tokens(self, actor, tokens, |parameters| match parameters {
            OtpParameters::Totp(parameters) if parameters.t0 != 0 => Err(ExportSkip::TimeOrigin),
            _ => Ok(()),
        })?;
        let exported: Vec<TokenId> = opened.iter().map(|token| token.id.clone()).collect();
        let tokens: Vec<ProvisionedToken> = opened.into_iter().map(provisioned).collect();
        let document = write_pskc(&tokens, protection).map_err(ExportError::Write)?;
        Ok(TokenExport {
            document,
            exported,
            skipped,
        })
    }
}
