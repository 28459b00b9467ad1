//! Malformed and hostile PSKC documents: each is a typed `PskcError`, without a panic
//! and without using memory or time out of proportion to the document.
#![cfg(feature = "pskc")]

use otpfob::{
    Secret,
    pskc::{PskcCredential, PskcError, PskcLimits, read_pskc, read_pskc_with_limits},
};
use proptest::prelude::*;

fn figure(number: u32) -> String {
    let path = format!(
        "{}/tests/data/pskc/figure{number}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn read(document: &str) -> Result<otpfob::pskc::PskcContainer, PskcError> {
    read_pskc(document.as_bytes(), &PskcCredential::None)
}

fn pre_shared_key() -> PskcCredential {
    PskcCredential::PreSharedKey(Secret::from_hex("12345678901234567890123456789012").unwrap())
}

/// A minimal container around one key's inner XML.
fn container(key: &str) -> String {
    format!(
        "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">\
         <KeyPackage><Key Id=\"k\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\">\
         {key}</Key></KeyPackage></KeyContainer>"
    )
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let mut entities = String::from("<!ENTITY lol0 \"lol\">");
    for level in 1..10 {
        let previous = format!("&lol{};", level - 1).repeat(10);
        entities.push_str(&format!("<!ENTITY lol{level} \"{previous}\">"));
    }
    let document = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE KeyContainer [{entities}]>\
         <KeyContainer Version=\"1.0\"><KeyPackage><Key Id=\"&lol9;\"/></KeyPackage></KeyContainer>"
    );
    assert_eq!(read(&document).unwrap_err(), PskcError::DocumentType);
}

#[test]
fn external_entities_are_refused_at_the_doctype() {
    let document = "<?xml version=\"1.0\"?>\
        <!DOCTYPE KeyContainer [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>\
        <KeyContainer Version=\"1.0\"><KeyPackage><Key Id=\"&secret;\"/></KeyPackage></KeyContainer>";
    assert_eq!(read(document).unwrap_err(), PskcError::DocumentType);
    let bare = "<!DOCTYPE KeyContainer SYSTEM \"http://example.com/pskc.dtd\"><KeyContainer Version=\"1.0\"/>";
    assert_eq!(read(bare).unwrap_err(), PskcError::DocumentType);
}

#[test]
fn undeclared_entities_are_refused() {
    let document = container("<Issuer>&secret;</Issuer>");
    assert_eq!(
        read(&document).unwrap_err(),
        PskcError::UnknownEntity {
            name: "secret".to_owned()
        }
    );
}

#[test]
fn huge_document_is_refused_before_parsing() {
    let limits = {
        let mut limits = PskcLimits::default();
        limits.max_document_bytes = 1000;
        limits
    };
    let document = figure(10);
    assert_eq!(
        read_pskc_with_limits(document.as_bytes(), &PskcCredential::None, &limits).unwrap_err(),
        PskcError::DocumentTooLarge {
            length: document.len(),
            maximum: 1000
        }
    );
}

#[test]
fn too_many_keys() {
    let limits = {
        let mut limits = PskcLimits::default();
        limits.max_keys = 3;
        limits
    };
    assert_eq!(
        read_pskc_with_limits(figure(10).as_bytes(), &PskcCredential::None, &limits).unwrap_err(),
        PskcError::TooManyKeys { maximum: 3 }
    );
}

#[test]
fn deep_nesting_is_cut_off_without_recursion() {
    let depth = 100_000;
    let document = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    assert_eq!(
        read(&document).unwrap_err(),
        PskcError::TooDeep { maximum: 32 }
    );
}

#[test]
fn huge_text_is_cut_off() {
    let document = container(&format!("<Issuer>{}</Issuer>", "x".repeat(70_000)));
    assert_eq!(
        read(&document).unwrap_err(),
        PskcError::TextTooLong {
            element: "Issuer".to_owned(),
            maximum: 65_536
        }
    );
    // Many small text pieces add up to the same limit.
    let document = container(&format!("<Issuer>{}</Issuer>", "&amp;".repeat(70_000)));
    assert!(matches!(
        read(&document),
        Err(PskcError::TextTooLong { .. })
    ));
}

#[test]
fn huge_secret_is_refused_before_decoding() {
    let document = container(&format!(
        "<Data><Secret><PlainValue>{}</PlainValue></Secret></Data>",
        "QUFB".repeat(2000)
    ));
    assert_eq!(
        read(&document).unwrap_err(),
        PskcError::ValueTooLong {
            element: "PlainValue",
            owner: "Key Id=\"k\"".to_owned(),
            length: 8000,
            maximum: 1024
        }
    );
}

#[test]
fn too_many_elements() {
    let limits = {
        let mut limits = PskcLimits::default();
        limits.max_elements = 100;
        limits
    };
    let document = container(&"<Unknown/>".repeat(200));
    assert_eq!(
        read_pskc_with_limits(document.as_bytes(), &PskcCredential::None, &limits).unwrap_err(),
        PskcError::TooManyElements { maximum: 100 }
    );
}

#[test]
fn bad_base64_and_bad_base64_padding() {
    for (value, what) in [
        ("MTIz*A==", "a character outside the alphabet"),
        ("MTIzNA=", "short padding"),
        ("MTIzNA", "missing padding"),
        ("MTIzNB==", "non-zero bits in the padding"),
        ("MT=zNA==", "padding in the middle"),
    ] {
        let document = container(&format!(
            "<Data><Secret><PlainValue>{value}</PlainValue></Secret></Data>"
        ));
        assert_eq!(
            read(&document).unwrap_err(),
            PskcError::Base64 {
                element: "PlainValue",
                owner: "Key Id=\"k\"".to_owned()
            },
            "{what}"
        );
    }
}

#[test]
fn empty_secret() {
    let document = container("<Data><Secret><PlainValue></PlainValue></Secret></Data>");
    assert!(matches!(
        read(&document),
        Err(PskcError::InvalidValue { element, .. }) if element == "Secret"
    ));
}

#[test]
fn missing_elements_and_attributes() {
    let no_id = "<KeyContainer Version=\"1.0\"><KeyPackage><Key/></KeyPackage></KeyContainer>";
    assert_eq!(
        read(no_id).unwrap_err(),
        PskcError::MissingAttribute {
            attribute: "Id",
            element: "Key".to_owned()
        }
    );
    let no_value = container("<Data><Secret></Secret></Data>");
    assert_eq!(
        read(&no_value).unwrap_err(),
        PskcError::MissingElement {
            element: "PlainValue",
            parent: "Secret of Key Id=\"k\"".to_owned()
        }
    );
    let no_cipher_data = container(
        "<Data><Secret><EncryptedValue><EncryptionMethod \
         Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/></EncryptedValue></Secret></Data>",
    );
    assert_eq!(
        read(&no_cipher_data).unwrap_err(),
        PskcError::MissingElement {
            element: "CipherData",
            parent: "EncryptedValue".to_owned()
        }
    );
    let no_length = container(
        "<AlgorithmParameters><ResponseFormat Encoding=\"DECIMAL\"/></AlgorithmParameters>",
    );
    assert_eq!(
        read(&no_length).unwrap_err(),
        PskcError::MissingAttribute {
            attribute: "Length",
            element: "ResponseFormat".to_owned()
        }
    );
    // Figure 6 without its MACMethod: encrypted values must be authenticated.
    let figure_6 = figure(6);
    let start = figure_6.find("<MACMethod").unwrap();
    let end = figure_6.find("</MACMethod>").unwrap() + "</MACMethod>".len();
    let without_mac = format!("{}{}", &figure_6[..start], &figure_6[end..]);
    assert_eq!(
        read_pskc(without_mac.as_bytes(), &pre_shared_key()).unwrap_err(),
        PskcError::MissingMac {
            element: "MACMethod",
            owner: "KeyContainer".to_owned()
        }
    );
}

#[test]
fn repeated_elements_are_ambiguous() {
    let document = container(
        "<Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret>\
         <Secret><PlainValue>NDMyMQ==</PlainValue></Secret></Data>",
    );
    assert_eq!(
        read(&document).unwrap_err(),
        PskcError::DuplicateElement {
            element: "Secret".to_owned(),
            parent: "Data".to_owned()
        }
    );
}

#[test]
fn two_keys_under_one_id_are_refused_whole() {
    // RFC 6030 requires a key's Id to be unique; the validator enrols by serial or
    // Id, so a second key under one Id would be refused or replace the first by
    // accident of order. The whole file is refused before anything is enrolled.
    let package = |serial: &str| {
        format!(
            "<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>\
             <Key Id=\"k\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\">\
             <AlgorithmParameters><ResponseFormat Length=\"6\" Encoding=\"DECIMAL\"/></AlgorithmParameters>\
             <Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>\
             <Counter><PlainValue>0</PlainValue></Counter></Data></Key></KeyPackage>"
        )
    };
    let document = |packages: &str| {
        format!(
            "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">{packages}</KeyContainer>"
        )
    };
    assert_eq!(read(&document(&package("FOB-1"))).unwrap().keys.len(), 1);
    for packages in [
        format!("{}{}", package("FOB-1"), package("FOB-1")),
        format!("{}{}", package("FOB-1"), package("FOB-2")),
    ] {
        assert_eq!(
            read(&document(&packages)).unwrap_err(),
            PskcError::DuplicateKeyId { id: "k".to_owned() }
        );
    }
}

#[test]
fn values_of_the_wrong_type() {
    for (inner, element) in [
        (
            "<Data><Counter><PlainValue>ten</PlainValue></Counter></Data>",
            "Counter",
        ),
        (
            "<Data><Counter><PlainValue>-1</PlainValue></Counter></Data>",
            "Counter",
        ),
        (
            "<Data><TimeDrift><PlainValue>1.5</PlainValue></TimeDrift></Data>",
            "TimeDrift",
        ),
        (
            "<Policy><ExpiryDate>tomorrow</ExpiryDate></Policy>",
            "ExpiryDate",
        ),
        (
            "<AlgorithmParameters><ResponseFormat Length=\"6\" Encoding=\"ROMAN\"/></AlgorithmParameters>",
            "ResponseFormat@Encoding",
        ),
        (
            "<AlgorithmParameters><ResponseFormat Length=\"six\" Encoding=\"DECIMAL\"/></AlgorithmParameters>",
            "ResponseFormat@Length",
        ),
        (
            "<AlgorithmParameters><ResponseFormat Length=\"6\" Encoding=\"DECIMAL\" CheckDigits=\"maybe\"/></AlgorithmParameters>",
            "ResponseFormat@CheckDigits",
        ),
    ] {
        match read(&container(inner)) {
            Err(PskcError::InvalidValue { element: found, .. }) => assert_eq!(found, element),
            other => panic!("{inner}: {other:?}"),
        }
    }
}

#[test]
fn not_a_container() {
    assert_eq!(
        read("<html><body/></html>").unwrap_err(),
        PskcError::NotKeyContainer {
            root: "html".to_owned()
        }
    );
    assert_eq!(
        read("<KeyContainer Version=\"2.0\"/>").unwrap_err(),
        PskcError::Version {
            version: Some("2.0".to_owned())
        }
    );
    assert_eq!(
        read("<KeyContainer/>").unwrap_err(),
        PskcError::Version { version: None }
    );
    assert!(matches!(
        read_pskc(
            b"<KeyContainer Version=\"1.0\">\xff</KeyContainer>",
            &PskcCredential::None
        ),
        Err(PskcError::Encoding { .. })
    ));
    assert!(matches!(
        read("<?xml version=\"1.0\" encoding=\"UTF-16\"?><KeyContainer Version=\"1.0\"/>"),
        Err(PskcError::Encoding { .. })
    ));
    for broken in [
        "",
        "<KeyContainer Version=\"1.0\">",
        "<KeyContainer Version=\"1.0\"></Key>",
        "not xml",
    ] {
        assert!(
            matches!(read(broken), Err(PskcError::Xml { .. })),
            "{broken:?}"
        );
    }
    // A byte-order mark is allowed.
    assert!(read("\u{feff}<KeyContainer Version=\"1.0\"/>").is_ok());
}

#[test]
fn unsupported_algorithms_are_named() {
    let figure_6 = figure(6);
    let md5_mac = figure_6.replace("xmldsig#hmac-sha1", "xmldsig-more#hmac-md5");
    assert_eq!(
        read_pskc(md5_mac.as_bytes(), &pre_shared_key()).unwrap_err(),
        PskcError::UnsupportedMac {
            algorithm: "http://www.w3.org/2000/09/xmldsig-more#hmac-md5".to_owned()
        }
    );
    let triple_des = figure_6.replace("xmlenc#aes128-cbc", "xmlenc#tripledes-cbc");
    assert_eq!(
        read_pskc(triple_des.as_bytes(), &pre_shared_key()).unwrap_err(),
        PskcError::UnsupportedEncryption {
            algorithm: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc".to_owned()
        }
    );
    let password = PskcCredential::Password(Secret::from_bytes(b"qwerty").unwrap());
    let scrypt = figure(7).replace("pkcs-5v2-0#pbkdf2", "pkcs-5v2-0#scrypt");
    assert!(matches!(
        read_pskc(scrypt.as_bytes(), &password),
        Err(PskcError::UnsupportedKeyDerivation { .. })
    ));
}

#[test]
fn pbkdf2_iterations_are_capped() {
    let password = PskcCredential::Password(Secret::from_bytes(b"qwerty").unwrap());
    for (count, expected) in [("4000000000", 4_000_000_000u64), ("0", 0)] {
        let document = figure(7).replace(
            "<IterationCount>1000</IterationCount>",
            &format!("<IterationCount>{count}</IterationCount>"),
        );
        assert_eq!(
            read_pskc(document.as_bytes(), &password).unwrap_err(),
            PskcError::Iterations {
                iterations: expected,
                maximum: 10_000_000
            }
        );
    }
}

/// Figure 6 with its secret replaced by one block whose padding count byte is 0, with a
/// correct MAC: the MAC passes and the decryption itself must fail cleanly.
#[test]
fn bad_cbc_padding_behind_a_valid_mac() {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    use hmac::{KeyInit, Mac};

    let key = [
        0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90,
        0x12,
    ];
    let mac_key = [
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
        0x66, 0x77, 0x88, 0x99, 0x00,
    ];
    let iv = [7u8; 16];
    let mut block = [0u8; 16];
    cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv)
        .unwrap()
        .encrypt_blocks(core::slice::from_mut((&mut block).into()));
    let mut value = iv.to_vec();
    value.extend_from_slice(&block);
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&mac_key).unwrap();
    mac.update(&value);
    let mac = mac.finalize().into_bytes();

    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let document = figure(6)
        .replace(
            "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv",
            &engine.encode(&value),
        )
        .replace("Su+NvtQfmvfJzF6bmQiJqoLRExc=", &engine.encode(mac));
    assert_eq!(
        read_pskc(document.as_bytes(), &pre_shared_key()).unwrap_err(),
        PskcError::Decryption {
            element: "Secret",
            owner: "Key Id=\"12345678\"".to_owned()
        }
    );
}

/// One wrong MAC among several keys rejects the file, even when it is the last key.
#[test]
fn one_wrong_mac_rejects_every_key() {
    let figure_6 = figure(6);
    let start = figure_6.find("<KeyPackage>").unwrap();
    let end = figure_6.find("</KeyPackage>").unwrap() + "</KeyPackage>".len();
    let package = &figure_6[start..end];
    let tampered = package.replace("Id=\"12345678\"", "Id=\"second\"").replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Su+NvtQfmvfJzF6bmQiJqoLSExc=",
    );
    let document = format!("{}{}{}", &figure_6[..end], tampered, &figure_6[end..]);
    assert_eq!(
        read_pskc(document.as_bytes(), &pre_shared_key()).unwrap_err(),
        PskcError::MacMismatch {
            element: "Secret",
            owner: "Key Id=\"second\"".to_owned()
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_pskc(&bytes, &PskcCredential::None);
    }

    #[test]
    fn mutated_rfc_documents_never_panic(
        figure_number in 2u32..=10,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = figure(figure_number).into_bytes();
        for (index, byte) in edits {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let credential = match figure_number {
            6 => pre_shared_key(),
            7 => PskcCredential::Password(Secret::from_bytes(b"qwerty").unwrap()),
            _ => PskcCredential::None,
        };
        if let Ok(container) = read_pskc(&bytes, &credential) {
            let _ = container.tokens();
        }
    }
}

#[test]
fn error_messages_never_show_the_secret() {
    let secret = "U0VDUkVUU0VDUkVUU0VDUkVU";
    for value in [
        format!("{secret}*"),
        format!("{secret}="),
        "QUFB".repeat(500) + secret,
    ] {
        let document = container(&format!(
            "<Data><Secret><PlainValue>{value}</PlainValue></Secret></Data>"
        ));
        let error = read(&document).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(secret), "{shown}");
    }
}
