//! A customer signs a payee with her bank card and a CAP card reader; the bank checks
//! it through its `Validator` (EMV-CAP, feature `emv-cap`).
//!
//! The issuer personalises Alice's card: its master key is derived from the issuer
//! master key, her PAN and sequence number. The bank enrols the card in its validator
//! (`Validator::enrol_cap`), which derives the same card key and keeps it sealed under
//! its sealing key, never the issuer key. Alice logs in with identify; then, to pay a
//! new payee, the bank asks her to sign the payee's account number and the amount in
//! mode 2; she types both into the reader after her PIN and types back the code, which
//! the bank accepts for exactly that transfer. The same code for a raised amount is
//! rejected, a replay of it is rejected, the audit trail shows why, and three wrong
//! PINs block her card.
//!
//! `cargo run --features emv-cap --example card_reader`

use std::error::Error;

use otpfob::device::{CapReader, Card};
use otpfob::emv::{CapMode, CapModes, CardProfile, DataFields, IssuerMasterKey};
use otpfob::validator::CapCard;
use otpfob::validator::{CapEnrolment, Store};
use otpfob::{
    Device, DeviceError, Keyring, ManualClock, MemoryStore, RejectReason, SealingKey, TokenId,
    Validator, device::SerialNumber,
};

const NOW: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z
const CARD_PIN: &str = "4821";

fn type_code(reader: &mut CapReader, mode: &CapMode) -> Result<String, DeviceError> {
    reader.enter_pin(CARD_PIN)?;
    Ok(reader.read(mode)?.code().to_string())
}

fn main() -> Result<(), Box<dyn Error>> {
    // The issuer's key lives in its HSM; the sealing key in the bank's key management.
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
    let clock = ManualClock::at_secs(NOW);
    let bank = Validator::new(
        MemoryStore::new(),
        clock.clone(),
        Keyring::new(SealingKey::generate(1)?),
    );

    let profile = CardProfile::new("4658123456789009", 1, (2029, 8))?;
    let card = Card::personalise(&issuer, profile, CARD_PIN)?;
    let id = TokenId::new("card:9009-01")?;
    // Logins with identify, transfers in mode 2 only.
    bank.enrol_cap(CapEnrolment {
        id: id.clone(),
        issuer_key: &issuer,
        card: CapCard::new(
            profile,
            CapModes::IDENTIFY.with(CapModes::SIGN_DATA),
            card.atc(),
        ),
        pin: None,
    })?;
    println!(
        "Alice's card {} ({} bits of each cryptogram on an {}-digit display)",
        profile.pan,
        profile.cryptogram_bits(),
        profile.bitmap.digits()
    );

    let mut reader = CapReader::new(SerialNumber::new("PINSENTRY-77")?, card);

    // Log in: identify.
    let login = type_code(&mut reader, &CapMode::Identify)?;
    let accepted = bank.verify_cap(&id, &CapMode::Identify, &login, None)?;
    println!("login code {login}: accepted at ATC {}", accepted.position);

    // A new payee: sign the account number and the amount (mode 2, TDS). The bank
    // builds the mode from the transfer it is about to execute.
    let transfer = CapMode::SignData(DataFields::parse(&["31926819", "25000"])?);
    let signature = type_code(&mut reader, &transfer)?;
    let raised = CapMode::SignData(DataFields::parse(&["31926819", "95000"])?);
    let refused = bank.verify_cap(&id, &raised, &signature, None).unwrap_err();
    println!("signature {signature} for £950.00: {refused}");
    assert_eq!(refused.reason(), RejectReason::WrongCode);
    let accepted = bank.verify_cap(&id, &transfer, &signature, None)?;
    println!(
        "signature {signature} for £250.00 to 31926819: accepted at ATC {}",
        accepted.position
    );
    let replay = bank
        .verify_cap(&id, &transfer, &signature, None)
        .unwrap_err();
    println!("the same signature again: {replay}");
    assert_eq!(replay.reason(), RejectReason::Replayed);

    // The bank's audit trail has the reasons the customer was not shown.
    for event in bank.store().audit_trail(&id, 10)? {
        println!("  audit: {:?} {:?}", event.operation, event.outcome);
    }

    // Someone else tries her card: three wrong PINs block it.
    for guess in ["0000", "1234", "9999"] {
        println!("PIN {guess}: {}", reader.enter_pin(guess).unwrap_err());
    }
    assert_eq!(reader.press().unwrap_err(), DeviceError::Locked);
    println!("the card is blocked: {:?}", reader.state());

    // After its expiry (end of August 2029) the bank refuses the card's codes.
    clock.set(otpfob::UnixTime::from_secs(1_882_915_200)); // 2029-09-01T00:00:00Z
    let expired = bank
        .verify_cap(&id, &CapMode::Identify, &login, None)
        .unwrap_err();
    assert_eq!(expired.reason(), RejectReason::CardExpired);
    println!("after August 2029: {expired} ({})", expired.reason());
    Ok(())
}
