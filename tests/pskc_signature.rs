//! Signed PSKC containers (RFC 6030 §7; feature `pskc-signature`), verified by
//! libxmlsec1: files signed by `xmlsec1 --sign`, by libpskc's `pskctool --sign` and by
//! python-pskc (`tests/data/pskc/signed/make-fixtures`) verify and name their signer;
//! an altered file, another signer (trusted or only named in the file), a signature
//! taken from another document, a signature over a part, an unsigned, oversized or
//! truncated file are refused, each with its own error.
#![cfg(feature = "pskc-signature")]

use otpfob::pskc::{
    PskcCredential, PskcError, PskcLimits, PskcSignerCertificate, read_signed_pskc,
};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/pskc/signed/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn vendor() -> PskcSignerCertificate {
    PskcSignerCertificate::from_pem(&fixture("vendor.crt.pem")).unwrap()
}

fn read(
    document: &str,
    signer: &PskcSignerCertificate,
) -> Result<otpfob::pskc::PskcSigner, PskcError> {
    read_signed_pskc(
        document.as_bytes(),
        &PskcCredential::None,
        signer,
        &PskcLimits::default(),
    )
    .map(|(container, signer)| {
        let tokens = container.tokens().unwrap();
        assert_eq!(tokens[0].secret.expose_bytes(), b"12345678901234567890");
        signer
    })
}

#[test]
fn files_signed_by_xmlsec1_and_pskctool_verify_and_name_their_signer() {
    for (name, algorithm) in [
        (
            "xmlsec1-signed.pskcxml",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        ),
        (
            "xmlsec1-signed-by-id.pskcxml",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        ),
        (
            "pskctool-signed.pskcxml",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        ),
        (
            "python-pskc-signed.pskcxml",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        ),
    ] {
        let signer =
            read(&fixture(name), &vendor()).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(signer.subject, "CN=vendor,O=otpfob tests", "{name}");
        assert_eq!(signer.algorithm, algorithm, "{name}");
    }
}

#[test]
fn an_altered_file_is_refused() {
    for name in ["xmlsec1-signed.pskcxml", "pskctool-signed.pskcxml"] {
        // Another secret: ...890 becomes ...891.
        let altered = fixture(name).replace(
            "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            "MTIzNDU2Nzg5MDEyMzQ1Njc4OTE=",
        );
        assert_ne!(altered, fixture(name));
        assert_eq!(
            read(&altered, &vendor()).unwrap_err(),
            PskcError::SignatureInvalid,
            "{name}"
        );
        // A counter moved on.
        let altered = fixture(name).replacen(
            "<pskc:PlainValue>0</pskc:PlainValue>",
            "<pskc:PlainValue>9</pskc:PlainValue>",
            1,
        );
        if altered != fixture(name) {
            assert_eq!(
                read(&altered, &vendor()).unwrap_err(),
                PskcError::SignatureInvalid
            );
        }
    }
}

#[test]
fn another_signer_is_refused() {
    let other = PskcSignerCertificate::from_pem(
        &std::fs::read_to_string(format!(
            "{}/tests/data/pskc/rsa/bank.crt.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        read(&fixture("xmlsec1-signed.pskcxml"), &other).unwrap_err(),
        PskcError::SignatureInvalid
    );
}

#[test]
fn a_signer_the_file_names_but_the_bank_does_not_trust_is_refused() {
    // Signed by another key, whose certificate the signature's KeyInfo carries: the
    // file's own certificate is never trusted.
    let document = fixture("other-signer.pskcxml");
    assert!(document.contains("<ds:X509Certificate>MII"));
    assert_eq!(
        read(&document, &vendor()).unwrap_err(),
        PskcError::SignatureInvalid
    );
    // The signature itself is sound: it verifies against the key that made it.
    let other = PskcSignerCertificate::from_pem(
        &std::fs::read_to_string(format!(
            "{}/tests/data/pskc/rsa/other.crt.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(read(&document, &other).unwrap().subject, other.subject());
}

#[test]
fn oversized_and_truncated_signed_files_are_refused() {
    let signed = fixture("xmlsec1-signed.pskcxml");
    let mut limits = PskcLimits::default();
    limits.max_document_bytes = signed.len() - 1;
    assert_eq!(
        read_signed_pskc(signed.as_bytes(), &PskcCredential::None, &vendor(), &limits).unwrap_err(),
        PskcError::DocumentTooLarge {
            length: signed.len(),
            maximum: signed.len() - 1
        }
    );
    // Cut inside the signature, and inside the key package.
    for cut in [
        signed.find("<ds:SignatureValue>").unwrap() + 30,
        signed.find("<pskc:Data>").unwrap(),
    ] {
        assert!(
            matches!(
                read(&signed[..cut], &vendor()).unwrap_err(),
                PskcError::Xml { .. }
            ),
            "cut at {cut}"
        );
    }
}

/// The `<ds:Signature>` element of `document`.
fn signature_of(document: &str) -> &str {
    let start = document.find("<ds:Signature>").unwrap();
    let end = document.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    &document[start..end]
}

#[test]
fn a_signature_over_another_document_is_refused() {
    // The unsigned container with another key's secret, and the signature of the
    // signed one pasted in.
    let signed = fixture("xmlsec1-signed.pskcxml");
    let other = fixture("unsigned.pskcxml")
        .replace("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTE=")
        .replace(
            "</pskc:KeyContainer>",
            &format!("{}\n</pskc:KeyContainer>", signature_of(&signed)),
        )
        .replace(
            "xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\"",
            "xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
        );
    assert_eq!(
        read(&other, &vendor()).unwrap_err(),
        PskcError::SignatureInvalid
    );
}

#[test]
fn a_signature_that_does_not_cover_the_container_is_refused() {
    let signed = fixture("xmlsec1-signed.pskcxml");
    // A reference to a part (RFC 6030 Figure 9 signs "#Device").
    let part = signed.replacen(
        "<ds:Reference URI=\"\">",
        "<ds:Reference URI=\"#sig-hotp\">",
        1,
    );
    assert!(matches!(
        read(&part, &vendor()).unwrap_err(),
        PskcError::SignatureScope { .. }
    ));
    let figure9 = std::fs::read_to_string(format!(
        "{}/tests/data/pskc/figure9.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(matches!(
        read(&figure9, &vendor()).unwrap_err(),
        PskcError::SignatureScope { .. }
    ));
    // A second signature inside a key package, which a verifier might pick first.
    let nested = signed.replacen(
        "<pskc:DeviceInfo>",
        &format!("{}<pskc:DeviceInfo>", signature_of(&signed)),
        1,
    );
    assert!(matches!(
        read(&nested, &vendor()).unwrap_err(),
        PskcError::SignatureScope { .. }
    ));
    assert_eq!(
        read(&fixture("unsigned.pskcxml"), &vendor()).unwrap_err(),
        PskcError::Unsigned
    );
}

#[test]
fn a_bad_signer_certificate_is_refused() {
    for text in ["", "not a certificate", &fixture("vendor.key.pem")] {
        assert!(matches!(
            PskcSignerCertificate::from_pem(text),
            Err(PskcError::Certificate { .. })
        ));
    }
    assert_eq!(vendor().subject(), "CN=vendor,O=otpfob tests");
}
