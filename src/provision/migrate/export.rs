//! The way back as OATH CSV: a validator's tokens in the seed file privacyIDEA and
//! LinOTP import, each export audited before its secret leaves.

use super::write_oath_csv;
use crate::algorithm::Algorithm;
use crate::clock::TimeSource;
use crate::parameters::OtpParameters;
use crate::provision::pskc::export::{
    ExportError, ExportSkip, TokenExport, open_tokens, otp_parameters,
};
use crate::validator::record::{TokenId, TokenKind};
use crate::validator::service::Validator;
use crate::validator::store::Store;

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Exports `tokens` as an OATH CSV seed file ([`write_oath_csv`]): `serial, key,
    /// hotp, digits, next counter` or `serial, key, totp, digits, time step`, the
    /// serial being the token's id.
    ///
    /// Left out and listed, with nothing opened: what
    /// [`Validator::export_pskc`](crate::Validator::export_pskc) leaves out (not
    /// active, locked, past its validity, a card, a keypad), and tokens whose hash is
    /// not SHA-1 ([`ExportSkip::Hash`]: the format has no column for it) or whose T0
    /// is not 0. Every other token's secret is opened through the keyring and its
    /// export audited (`export`, naming `actor`) before the file is written.
    ///
    /// # Errors
    ///
    /// [`ExportError::Actor`] before anything is opened; [`ExportError::Token`] for a
    /// token that cannot be exported (the tokens before it stay audited, no document
    /// is returned).
    ///
    /// # Security
    ///
    /// The file holds every secret in the clear, as the format does; prefer
    /// [`Validator::export_pskc`](crate::Validator::export_pskc) wherever the other
    /// side reads PSKC. The format carries neither a TOTP token's drift nor its last
    /// accepted step, the server-side PIN, the owner nor the validity period.
    ///
    /// ```
    /// # #[cfg(feature = "migrate")] {
    /// use otpfob::{Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey, Secret, TokenId, Validator};
    ///
    /// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::new(TokenId::new("FOB-1")?, Secret::from_bytes(b"12345678901234567890")?, HotpParameters::default()).with_counter(3))?;
    /// let export = bank.export_oath_csv("ops:alice", &[id])?;
    /// assert!(export.document.ends_with("FOB-1, 3132333435363738393031323334353637383930, hotp, 6, 3\n"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_oath_csv(
        &self,
        actor: &str,
        tokens: &[TokenId],
    ) -> Result<TokenExport, ExportError> {
        let (opened, skipped) = open_tokens(self, actor, tokens, |parameters| {
            let algorithm = match parameters {
                OtpParameters::Hotp(parameters) => parameters.algorithm,
                OtpParameters::Totp(parameters) if parameters.t0 != 0 => {
                    return Err(ExportSkip::TimeOrigin);
                }
                OtpParameters::Totp(parameters) => parameters.algorithm,
            };
            if algorithm == Algorithm::Sha1 {
                Ok(())
            } else {
                Err(ExportSkip::Hash(algorithm))
            }
        })?;
        // Every opened token passed `otp_parameters` when it was checked.
        let (document, _) = write_oath_csv(opened.iter().filter_map(|token| {
            let parameters = otp_parameters(&token.state.kind).ok()?;
            let counter = match token.state.kind {
                TokenKind::Event { next_counter, .. } => next_counter,
                _ => 0,
            };
            Some((token.id.as_str(), &token.secret, parameters, counter))
        }));
        Ok(TokenExport {
            document,
            exported: opened.iter().map(|token| token.id.clone()).collect(),
            skipped,
        })
    }
}
