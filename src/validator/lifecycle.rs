//! A token's life cycle: who owns it ([`CustomerRef`]), when it may be used
//! ([`Validity`]), and the pure rule ([`standing`]) that says whether a token in a given
//! state may have its codes accepted at a given time.
//!
//! The states are [`Status`]: `Active`, `Disabled` (reversible), `Lost` (the customer
//! reported it; reversible when found), `Revoked` (final: kept for audit, never usable
//! again) and `Expired` (an administrator retired it at its end of life). Besides the
//! switch, every token may carry a validity period, from a factory record's issue and
//! expiry times or a PSKC `<StartDate>`/`<ExpiryDate>`: outside it every code is rejected,
//! whatever the status.

use core::fmt;

use crate::clock::UnixTime;
use crate::validator::error::{RejectReason, ValidatorError};
use crate::validator::record::Status;

/// The longest customer reference accepted, in bytes.
pub const MAX_CUSTOMER_REF_LEN: usize = 128;

/// The most tokens one customer may hold.
/// [`Validator::verify_customer`](crate::Validator::verify_customer) always does the work of this many tokens (the
/// customer's, padded with decoys), so its time does not say how many a customer has
/// nor which one matched; [`Validator::assign_owner`](crate::Validator::assign_owner)
/// refuses a token beyond it.
pub const MAX_TOKENS_PER_CUSTOMER: usize = 4;

/// An opaque reference to the bank's customer that owns a token: the bank's own
/// customer number or a pseudonym for it, never a name.
///
/// 1 to [`MAX_CUSTOMER_REF_LEN`] bytes of printable ASCII (`!` to `~`): no spaces,
/// no control characters, nothing a log or a terminal could misread.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerRef(Box<str>);

impl CustomerRef {
    /// A customer reference.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::CustomerRef`] for an empty or too long reference, or one with
    /// a character outside printable ASCII (the error shows the reference escaped).
    pub fn new(reference: &str) -> Result<Self, ValidatorError> {
        let fail = |reason: &'static str| ValidatorError::CustomerRef {
            reference: reference
                .escape_debug()
                .take(MAX_CUSTOMER_REF_LEN)
                .collect(),
            reason,
        };
        if reference.is_empty() {
            return Err(fail("empty"));
        }
        if reference.len() > MAX_CUSTOMER_REF_LEN {
            return Err(fail("longer than 128 bytes"));
        }
        if !reference.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(fail("only printable ASCII without spaces is allowed"));
        }
        Ok(Self(reference.into()))
    }

    /// The reference as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CustomerRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "CustomerRef({:?})", self.0)
    }
}

impl fmt::Display for CustomerRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// When a token may be used: not before `not_before`, and before `not_after`; either
/// end open when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
// Deliberately exhaustive: a period has two ends, and a Store backend builds it field by
// field from its rows.
#[allow(clippy::exhaustive_structs)]
pub struct Validity {
    /// The first instant the token may be used (a factory record's issue time, a PSKC
    /// `<StartDate>`).
    pub not_before: Option<UnixTime>,
    /// The first instant the token may no longer be used (a factory record's expiry,
    /// a PSKC `<ExpiryDate>`).
    pub not_after: Option<UnixTime>,
}

impl Validity {
    /// No limit either way.
    pub const ALWAYS: Self = Self {
        not_before: None,
        not_after: None,
    };

    /// The period from `not_before` to `not_after`, either end optional.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Validity`] if it ends at or before it starts.
    pub fn new(
        not_before: Option<UnixTime>,
        not_after: Option<UnixTime>,
    ) -> Result<Self, ValidatorError> {
        if let (Some(start), Some(end)) = (not_before, not_after)
            && end <= start
        {
            return Err(ValidatorError::Validity {
                not_before: start.as_secs(),
                not_after: end.as_secs(),
            });
        }
        Ok(Self {
            not_before,
            not_after,
        })
    }

    /// Whether `now` is inside the period.
    #[must_use]
    pub fn contains(&self, now: UnixTime) -> bool {
        self.not_before.is_none_or(|start| now >= start)
            && self.not_after.is_none_or(|end| now < end)
    }
}

/// Whether a token with this `status` and `validity` may have a code accepted at
/// `now`; the reason it may not otherwise. The rule, in order:
///
/// 1. Revoked is final, and is said first: a revoked token is refused as revoked
///    whatever its period.
/// 2. A lost, disabled or expired (retired) token is refused as such.
/// 3. An active token is refused before its `not_before` and from its `not_after`.
///
/// Pure: no clock read, no I/O. The decisions call it before anything is counted, so
/// a refused token counts no failure (nothing the customer typed is to blame).
#[must_use]
pub fn standing(status: Status, validity: Validity, now: UnixTime) -> Option<RejectReason> {
    match status {
        Status::Revoked => Some(RejectReason::Revoked),
        Status::Lost => Some(RejectReason::Lost),
        Status::Disabled => Some(RejectReason::Disabled),
        Status::Expired => Some(RejectReason::Expired),
        Status::Active => match (validity.not_before, validity.not_after) {
            (Some(start), _) if now < start => Some(RejectReason::NotYetValid),
            (_, Some(end)) if now >= end => Some(RejectReason::Expired),
            _ => None,
        },
    }
}

/// Whether an administrator may move a token from `from` to `to`: anything but out of
/// `Revoked`, which is final.
#[must_use]
pub fn may_change_status(from: Status, to: Status) -> bool {
    from != Status::Revoked || to == Status::Revoked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> UnixTime {
        UnixTime::from_secs(seconds)
    }

    #[test]
    fn customer_references_are_bounded_and_printable() {
        assert_eq!(CustomerRef::new("C-0001").unwrap().as_str(), "C-0001");
        assert!(CustomerRef::new(&"x".repeat(MAX_CUSTOMER_REF_LEN)).is_ok());
        for bad in [
            "",
            "with space",
            "tab\there",
            "new\nline",
            "bell\u{7}",
            "caf\u{e9}",
        ] {
            let error = CustomerRef::new(bad).unwrap_err();
            assert!(
                matches!(error, ValidatorError::CustomerRef { .. }),
                "{bad:?}"
            );
        }
        assert!(CustomerRef::new(&"x".repeat(MAX_CUSTOMER_REF_LEN + 1)).is_err());
        // The error names the bad value, escaped, so a control character cannot reach a
        // log raw.
        let shown = CustomerRef::new("a\nb").unwrap_err().to_string();
        assert!(shown.contains("a\\nb"), "{shown}");
    }

    #[test]
    fn a_period_must_end_after_it_starts() {
        assert!(Validity::new(Some(at(10)), Some(at(10))).is_err());
        assert!(Validity::new(Some(at(11)), Some(at(10))).is_err());
        assert!(Validity::new(Some(at(10)), Some(at(11))).is_ok());
        assert!(Validity::new(None, Some(at(0))).is_ok());
    }

    #[test]
    fn an_active_token_is_usable_only_inside_its_period() {
        let period = Validity::new(Some(at(100)), Some(at(200))).unwrap();
        assert_eq!(
            standing(Status::Active, period, at(99)),
            Some(RejectReason::NotYetValid)
        );
        assert_eq!(standing(Status::Active, period, at(100)), None);
        assert_eq!(standing(Status::Active, period, at(199)), None);
        assert_eq!(
            standing(Status::Active, period, at(200)),
            Some(RejectReason::Expired)
        );
        assert_eq!(
            standing(Status::Active, Validity::ALWAYS, at(i64::MAX / 2)),
            None
        );
    }

    #[test]
    fn every_state_but_active_refuses_and_says_why() {
        let period = Validity::new(Some(at(100)), Some(at(200))).unwrap();
        for (status, reason) in [
            (Status::Disabled, RejectReason::Disabled),
            (Status::Lost, RejectReason::Lost),
            (Status::Expired, RejectReason::Expired),
            (Status::Revoked, RejectReason::Revoked),
        ] {
            assert_eq!(
                standing(status, period, at(150)),
                Some(reason),
                "{status:?}"
            );
            assert_eq!(standing(status, Validity::ALWAYS, at(150)), Some(reason));
        }
        // Revoked outranks the period: the audit says the final thing.
        assert_eq!(
            standing(Status::Revoked, period, at(300)),
            Some(RejectReason::Revoked)
        );
    }

    #[test]
    fn revoked_is_final() {
        for to in [
            Status::Active,
            Status::Disabled,
            Status::Lost,
            Status::Expired,
        ] {
            assert!(!may_change_status(Status::Revoked, to), "{to:?}");
            assert!(may_change_status(Status::Lost, to), "{to:?}");
        }
        assert!(may_change_status(Status::Revoked, Status::Revoked));
        assert!(may_change_status(Status::Active, Status::Revoked));
    }
}
