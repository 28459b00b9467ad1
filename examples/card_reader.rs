//! A customer signs a payee with her bank card and a CAP card reader; the bank checks
//! it (EMV-CAP, feature `emv-cap`).
//!
//! The issuer personalises Alice's card: its master key is derived from the issuer
//! master key, her PAN and sequence number. The bank keeps that card key sealed under
//! its sealing key, with the card's token id as associated data. Alice logs in with
//! identify; then, to pay a new payee, the bank asks her to sign the payee's account
//! number and the amount in mode 2; she types both into the reader after her PIN and
//! types back the code, which the bank accepts for exactly that transfer. The same
//! code for a raised amount is rejected, a replay of it is rejected, and three wrong
//! PINs block her card.
//!
//! `cargo run --features emv-cap --example card_reader`

use std::error::Error;

use otpfob::emv::{
    CapAttempt, CapMode, CapReader, CapState, Card, CardMasterKey, CardProfile, DataFields,
    IssuerMasterKey, decide_cap,
};
use otpfob::{
    Device, DeviceError, Keyring, Policy, RejectReason, SealingKey, TokenId, UnixTime,
    device::SerialNumber, validator::Verdict,
};

const NOW: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z
const CARD_PIN: &str = "4821";

/// The bank's side of one card: its public profile, its sealed key and its state.
struct BankCard {
    id: TokenId,
    profile: CardProfile,
    sealed_key: otpfob::validator::SealedSecret,
    state: CapState,
}

fn verify(
    keyring: &Keyring,
    policy: &Policy,
    card: &mut BankCard,
    mode: &CapMode,
    typed: &str,
) -> Result<Verdict, Box<dyn Error>> {
    let key = CardMasterKey::from_secret(&keyring.open(&card.id, &card.sealed_key)?)?;
    let code = card.profile.parse_code(typed);
    let attempt = CapAttempt {
        mode,
        code: code.as_ref(),
        pin_ok: true,
    };
    let decision = decide_cap(
        policy,
        &card.state,
        &key,
        &card.profile,
        &attempt,
        UnixTime::from_secs(NOW),
    );
    // A real bank stores the new state with compare-and-swap before it answers.
    card.state = decision.state;
    Ok(decision.verdict)
}

fn type_code(reader: &mut CapReader, mode: &CapMode) -> Result<String, DeviceError> {
    reader.enter_pin(CARD_PIN)?;
    Ok(reader.read(mode)?.code().to_string())
}

fn main() -> Result<(), Box<dyn Error>> {
    // The issuer's key lives in its HSM; the sealing key in the bank's key management.
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
    let keyring = Keyring::new(SealingKey::generate(1)?);
    let policy = Policy::default();

    let profile = CardProfile::new("4658123456789009", 1, (2029, 8))?;
    let card = Card::personalise(&issuer, profile, CARD_PIN)?;
    let id = TokenId::new("card:4658-9009-01")?;
    let card_key = CardMasterKey::derive(&issuer, &profile.pan, profile.sequence);
    let mut bank = BankCard {
        sealed_key: keyring.seal(&id, &card_key.to_secret()?)?,
        id,
        profile,
        state: CapState::new(card.atc()),
    };
    drop(card_key);
    println!(
        "Alice's card {} ({} bits of each cryptogram on an {}-digit display)",
        profile.pan,
        profile.cryptogram_bits(),
        profile.bitmap.digits()
    );

    let mut reader = CapReader::new(SerialNumber::new("PINSENTRY-77")?, card);

    // Log in: identify.
    let login = type_code(&mut reader, &CapMode::Identify)?;
    let verdict = verify(&keyring, &policy, &mut bank, &CapMode::Identify, &login)?;
    println!("login code {login}: {verdict:?}");
    assert!(matches!(verdict, Verdict::Accepted(_)));

    // A new payee: sign the account number and the amount (mode 2, TDS). The bank
    // builds the mode from the transfer it is about to execute.
    let transfer = CapMode::SignData(DataFields::parse(&["31926819", "25000"])?);
    let signature = type_code(&mut reader, &transfer)?;
    let raised = CapMode::SignData(DataFields::parse(&["31926819", "95000"])?);
    let verdict = verify(&keyring, &policy, &mut bank, &raised, &signature)?;
    println!("signature {signature} for £950.00: {verdict:?}");
    assert_eq!(verdict, Verdict::Rejected(RejectReason::WrongCode));
    let verdict = verify(&keyring, &policy, &mut bank, &transfer, &signature)?;
    println!("signature {signature} for £250.00 to 31926819: {verdict:?}");
    assert!(matches!(verdict, Verdict::Accepted(_)));
    let verdict = verify(&keyring, &policy, &mut bank, &transfer, &signature)?;
    println!("the same signature again: {verdict:?}");
    assert_eq!(verdict, Verdict::Rejected(RejectReason::Replayed));

    // Someone else tries her card: three wrong PINs block it.
    for guess in ["0000", "1234", "9999"] {
        println!("PIN {guess}: {}", reader.enter_pin(guess).unwrap_err());
    }
    assert_eq!(reader.press().unwrap_err(), DeviceError::Locked);
    println!("the card is blocked: {:?}", reader.state());
    Ok(())
}
