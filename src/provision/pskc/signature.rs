//! Signed PSKC containers (RFC 6030 §7, XML Signature; feature `pskc-signature`):
//! the signature verified by libxmlsec1 (through the `xmlsec` crate), never by a
//! canonicaliser of ours, against the vendor's certificate the bank trusts.
//!
//! The document goes through this crate's own parser first (its limits, no DTD, no
//! entities), then to libxml2 and libxmlsec1. The one `<ds:Signature>` must be a child
//! of `<KeyContainer>` and have one `<ds:Reference>` to the whole container (no `URI`,
//! as libpskc's `pskctool` writes, `URI=""`, or `#` and the container's `Id`), so that
//! what is verified is what is read.

use core::fmt;

use libxml::parser::Parser;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;
use xmlsec::{XmlSecDocumentExt, XmlSecKey, XmlSecKeyFormat, XmlSecSignatureContext};

use super::read::read_pskc_with_limits;
use super::xml::{self, Element};
use super::{PskcContainer, PskcCredential, PskcLimits};
use crate::provision::pskc::error::PskcError;

/// The XML Signature namespace.
const DSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The certificate of a signer the bank trusts (a token vendor's), against which
/// [`read_signed_pskc`] verifies a container's signature.
#[derive(Clone)]
pub struct PskcSignerCertificate {
    pem: String,
    subject: String,
}

impl PskcSignerCertificate {
    /// The certificate from PEM (`-----BEGIN CERTIFICATE-----`).
    ///
    /// # Errors
    ///
    /// [`PskcError::Certificate`] for text that is not one PEM X.509 certificate.
    pub fn from_pem(pem: &str) -> Result<Self, PskcError> {
        let certificate =
            Certificate::from_pem(pem.trim()).map_err(|_| PskcError::Certificate {
                reason: "not a PEM X.509 certificate",
            })?;
        Ok(Self {
            pem: pem.trim().to_owned(),
            subject: certificate.tbs_certificate().subject().to_string(),
        })
    }

    /// The certificate's subject (RFC 4514).
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl fmt::Debug for PskcSignerCertificate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PskcSignerCertificate({:?})", self.subject)
    }
}

/// Who signed a container, as [`read_signed_pskc`] verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PskcSigner {
    /// The subject of the certificate the signature verified against.
    pub subject: String,
    /// The signature's algorithm URI (`...#rsa-sha256`; libpskc writes `rsa-sha1`).
    pub algorithm: String,
}

/// Reads a signed container ([`read_pskc_with_limits`] with `credential` and
/// `limits`) after verifying its XML Signature against `signer`.
///
/// # Errors
///
/// What [`read_pskc_with_limits`] refuses, and [`PskcError::Unsigned`] for a document
/// with no signature, [`PskcError::SignatureScope`] for one whose signature does not
/// cover the whole container (a reference to a part, several references or
/// signatures), [`PskcError::SignatureInvalid`] for one that does not verify against
/// `signer` (altered, signed by another key, or its signature taken from another
/// document).
///
/// # Security
///
/// Only the signer's certificate given here is trusted; a certificate in the file's
/// `<ds:KeyInfo>` is ignored. libxmlsec1 reports its failures on standard error.
pub fn read_signed_pskc(
    document: &[u8],
    credential: &PskcCredential,
    signer: &PskcSignerCertificate,
    limits: &PskcLimits,
) -> Result<(PskcContainer, PskcSigner), PskcError> {
    if document.len() > limits.max_document_bytes {
        return Err(PskcError::DocumentTooLarge {
            length: document.len(),
            maximum: limits.max_document_bytes,
        });
    }
    let text = core::str::from_utf8(document.strip_prefix(b"\xef\xbb\xbf").unwrap_or(document))
        .map_err(|_| PskcError::Encoding {
            encoding: "invalid UTF-8".to_owned(),
        })?;
    // This crate's parser first: its limits, and no DTD or entity reaches libxml2.
    let root = xml::parse(text, limits)?;
    let (by_id, algorithm) = signature_scope(&root)?;
    verify(text, by_id, signer)?;
    let container = read_pskc_with_limits(document, credential, limits)?;
    Ok((
        container,
        PskcSigner {
            subject: signer.subject.clone(),
            algorithm,
        },
    ))
}

/// Checks that the document has one signature, a child of the container, with one
/// reference to the whole container; whether that reference is by the container's
/// `Id`, and the signature algorithm.
fn signature_scope(root: &Element) -> Result<(bool, String), PskcError> {
    let scope = |reason: &'static str| PskcError::SignatureScope { reason };
    match count_named(root, "Signature") {
        0 => return Err(PskcError::Unsigned),
        1 => {}
        _ => return Err(scope("more than one ds:Signature")),
    }
    let signature = root
        .child("Signature")
        .ok_or_else(|| scope("the ds:Signature is not a child of KeyContainer"))?;
    let signed_info = signature.required_child("SignedInfo")?;
    let mut references = signed_info.children_named("Reference");
    let reference = references.next().ok_or_else(|| scope("no ds:Reference"))?;
    if references.next().is_some() {
        return Err(scope("more than one ds:Reference"));
    }
    let by_id = match reference.attribute("URI") {
        None | Some("") => false,
        Some(uri) => {
            let id = uri.strip_prefix('#').filter(|id| !id.is_empty());
            match (id, root.attribute("Id")) {
                (Some(id), Some(container)) if id == container && count_id(root, id) == 1 => true,
                _ => return Err(scope("the reference is not to the whole KeyContainer")),
            }
        }
    };
    let algorithm = signed_info
        .required_child("SignatureMethod")?
        .attribute("Algorithm")
        .unwrap_or("")
        .chars()
        .take(100)
        .collect();
    Ok((by_id, algorithm))
}

/// Elements named `name` in the tree under `element`, itself included.
fn count_named(element: &Element, name: &str) -> usize {
    usize::from(element.name == name)
        + element
            .children
            .iter()
            .map(|child| count_named(child, name))
            .sum::<usize>()
}

/// Elements whose `Id` is `id` in the tree under `element`, itself included.
fn count_id(element: &Element, id: &str) -> usize {
    usize::from(element.attribute("Id") == Some(id))
        + element
            .children
            .iter()
            .map(|child| count_id(child, id))
            .sum::<usize>()
}

/// Verifies the container's signature with libxmlsec1 against `signer`'s key.
fn verify(text: &str, by_id: bool, signer: &PskcSignerCertificate) -> Result<(), PskcError> {
    let invalid = || PskcError::SignatureInvalid;
    let document =
        Parser::default()
            .parse_string(text)
            .map_err(|_| PskcError::SignatureBackend {
                reason: "libxml2 cannot parse the document",
            })?;
    if by_id {
        document
            .specify_idattr("/*", "Id", None)
            .map_err(|_| PskcError::SignatureBackend {
                reason: "the container's Id cannot be registered",
            })?;
    }
    let root = document.get_root_element().ok_or_else(invalid)?;
    let signature = root
        .get_child_elements()
        .into_iter()
        .find(|child| {
            child.get_name() == "Signature"
                && child
                    .get_namespace()
                    .is_some_and(|namespace| namespace.get_href() == DSIG_NAMESPACE)
        })
        .ok_or(PskcError::SignatureScope {
            reason: "the ds:Signature is not in the XML Signature namespace",
        })?;
    let key = XmlSecKey::from_memory(signer.pem.as_bytes(), XmlSecKeyFormat::CertPem, None)
        .map_err(|_| PskcError::Certificate {
            reason: "libxmlsec1 cannot load the signer's certificate",
        })?;
    let mut context = XmlSecSignatureContext::new();
    context.insert_key(key);
    match context.verify_node(&signature) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(invalid()),
    }
}
