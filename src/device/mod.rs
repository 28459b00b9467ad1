//! Devices that show one-time codes: the [`Device`] trait every backend implements,
//! the simulated physical key fob, the phone app's soft token, fleets of simulated
//! fobs, and a terminal renderer for a fob's display.
//!
//! Main types: [`Device`], [`KeyFob`] (built with [`KeyFobBuilder`]), [`SoftToken`],
//! [`FactoryRecord`] (what the factory hands the bank), [`Crystal`] (clock drift),
//! [`Screen`], [`ChallengeResponder`] for OCRA, and, with feature `fleet`, `Fleet`.

mod backend;
#[cfg(feature = "emv-cap")]
mod cap_reader;
mod challenge;
mod crystal;
mod display;
#[cfg(feature = "emv-cap")]
mod emv_card;
pub(crate) mod error;
mod factory;
#[cfg(feature = "fleet")]
mod fleet;
mod fob;
mod generator;
mod keypad;
pub(crate) mod pin;
mod serial;
mod soft_token;
mod unlock;

pub use backend::{Device, DeviceKind, DeviceState, OtpMode, Reading};
#[cfg(feature = "emv-cap")]
pub use cap_reader::CapReader;
pub use challenge::{ChallengeContext, ChallengeResponder};
pub use crystal::{Crystal, MAX_DRIFT_PPM};
pub use display::Screen;
#[cfg(feature = "emv-cap")]
pub use emv_card::Card;
pub use error::DeviceError;
pub use factory::FactoryRecord;
#[cfg(feature = "fleet")]
pub use fleet::{Fleet, FleetBuilder};
pub use fob::{DEFAULT_LIFETIME, KeyFob, KeyFobBuilder};
pub use pin::{DEFAULT_PIN_TRIES, MAX_PIN_DIGITS, MIN_PIN_DIGITS};
pub use serial::{MAX_SERIAL_LEN, SerialNumber};
pub use soft_token::SoftToken;
pub use unlock::{UNLOCK_CODE_DIGITS, UnlockChallenge, unlock_code};
