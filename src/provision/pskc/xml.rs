//! A small, bounded XML tree for PSKC documents, over `quick-xml`'s event reader.
//!
//! Hostile input is the normal case for a file that arrives from outside: there is no
//! DTD processing at all (a `<!DOCTYPE>` is an error, so no entity can be declared,
//! expanded or fetched), only the five predefined entities and character references
//! are resolved, and the depth, element count and text length are capped, so memory
//! stays within a small multiple of the document's size.

use quick_xml::Reader;
use quick_xml::escape::{EscapeError, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use zeroize::Zeroizing;

use super::PskcLimits;
use crate::provision::pskc::error::PskcError;

/// One element: its local name (namespace prefixes dropped, as PSKC readers commonly
/// do), attributes by local name (namespace declarations left out), children, and
/// its own text.
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) children: Vec<Element>,
    /// Text and CDATA directly inside the element, concatenated. Zeroizing, because
    /// a `PlainValue` holds a secret.
    pub(super) text: Zeroizing<String>,
}

impl Element {
    /// The first child called `name`.
    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The only child called `name`, if any.
    pub(super) fn single_child(&self, name: &'static str) -> Result<Option<&Element>, PskcError> {
        let mut found = self.children.iter().filter(|child| child.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(PskcError::DuplicateElement {
                element: name.to_owned(),
                parent: self.name.clone(),
            });
        }
        Ok(first)
    }

    /// The only child called `name`.
    pub(super) fn required_child(&self, name: &'static str) -> Result<&Element, PskcError> {
        self.single_child(name)?
            .ok_or_else(|| PskcError::MissingElement {
                element: name,
                parent: self.name.clone(),
            })
    }

    /// Every child called `name`.
    pub(super) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The attribute called `name` (local name).
    pub(super) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The element's text with surrounding XML white space removed.
    pub(super) fn trimmed_text(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }

    /// The trimmed text of the only child called `name`, if any.
    pub(super) fn child_text(&self, name: &'static str) -> Result<Option<String>, PskcError> {
        Ok(self
            .single_child(name)?
            .map(|child| child.trimmed_text().to_owned()))
    }
}

/// XML white space (XML 1.0 production 3).
pub(super) fn is_xml_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\r' | '\n')
}

/// Appends `text` to a zeroizing string; when the string must grow, the new buffer is
/// allocated and filled here and the old one is dropped (so zeroized), instead of
/// letting `String` reallocate and free the old buffer with its contents.
pub(super) fn push_zeroizing(target: &mut Zeroizing<String>, text: &str) {
    let needed = target.len() + text.len();
    if needed > target.capacity() {
        let mut grown = Zeroizing::new(String::with_capacity(needed.max(2 * target.capacity())));
        grown.push_str(target);
        *target = grown;
    }
    target.push_str(text);
}

/// Parses `document` into a tree, within `limits`.
pub(super) fn parse(document: &str, limits: &PskcLimits) -> Result<Element, PskcError> {
    let mut reader = Reader::from_str(document);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let event = reader.read_event().map_err(|error| PskcError::Xml {
            position: reader.error_position(),
            reason: error.to_string(),
        })?;
        let position = reader.buffer_position();
        match event {
            Event::Decl(declaration) => {
                if let Some(encoding) = declaration.encoding() {
                    let encoding = encoding.map_err(|error| PskcError::Xml {
                        position,
                        reason: error.to_string(),
                    })?;
                    if !encoding.eq_ignore_ascii_case("utf-8")
                        && !encoding.eq_ignore_ascii_case("utf8")
                    {
                        return Err(PskcError::Encoding {
                            encoding: encoding.chars().take(40).collect(),
                        });
                    }
                }
            }
            Event::DocType(_) => return Err(PskcError::DocumentType),
            Event::Start(start) => {
                count_element(&mut elements, stack.len(), limits)?;
                if root.is_some() {
                    return Err(misplaced(position, "a second root element"));
                }
                stack.push(element(&start, limits, position)?);
            }
            Event::Empty(start) => {
                count_element(&mut elements, stack.len(), limits)?;
                let element = element(&start, limits, position)?;
                attach(&mut stack, &mut root, element, position)?;
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches the open element.
                let element = stack
                    .pop()
                    .ok_or_else(|| misplaced(position, "an end tag with no open element"))?;
                attach(&mut stack, &mut root, element, position)?;
            }
            Event::Text(text) => append_text(&mut stack, &text.xml10_content(), limits, position)?,
            Event::CData(data) => append_text(&mut stack, &data.xml10_content(), limits, position)?,
            Event::GeneralRef(reference) => {
                let mut buffer = [0u8; 4];
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => character.encode_utf8(&mut buffer),
                    Ok(None) => {
                        let name: &str = &reference;
                        match resolve_predefined_entity(name) {
                            Some(value) => {
                                buffer[..value.len()].copy_from_slice(value.as_bytes());
                                core::str::from_utf8_mut(&mut buffer[..value.len()])
                                    .map_err(|_| misplaced(position, "an entity"))?
                            }
                            None => {
                                return Err(PskcError::UnknownEntity {
                                    name: name.chars().take(40).collect(),
                                });
                            }
                        }
                    }
                    Err(error) => {
                        return Err(PskcError::Xml {
                            position,
                            reason: error.to_string(),
                        });
                    }
                };
                append_text(&mut stack, resolved, limits, position)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(PskcError::Xml {
            position: reader.buffer_position(),
            reason: format!("<{}> is not closed", open.name),
        });
    }
    root.ok_or(PskcError::Xml {
        position: reader.buffer_position(),
        reason: "the document has no root element".to_owned(),
    })
}

fn misplaced(position: u64, what: &str) -> PskcError {
    PskcError::Xml {
        position,
        reason: format!("unexpected {what}"),
    }
}

/// Hangs a finished element under the open one, or makes it the root.
fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
    position: u64,
) -> Result<(), PskcError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(misplaced(position, "a second root element")),
    }
    Ok(())
}

fn append_text(
    stack: &mut [Element],
    text: &str,
    limits: &PskcLimits,
    position: u64,
) -> Result<(), PskcError> {
    match stack.last_mut() {
        Some(open) => {
            if open.text.len() + text.len() > limits.max_text_bytes {
                return Err(PskcError::TextTooLong {
                    element: open.name.clone(),
                    maximum: limits.max_text_bytes,
                });
            }
            push_zeroizing(&mut open.text, text);
            Ok(())
        }
        None if text.chars().all(is_xml_space) => Ok(()),
        None => Err(misplaced(position, "text outside the root element")),
    }
}

/// An element from a start tag: its local name and its attributes, entities resolved.
fn element(
    start: &BytesStart<'_>,
    limits: &PskcLimits,
    position: u64,
) -> Result<Element, PskcError> {
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes().with_checks(true) {
        let attribute = attribute.map_err(|error| PskcError::Xml {
            position,
            reason: error.to_string(),
        })?;
        let key = attribute.key;
        if key.as_ref() == "xmlns"
            || key
                .prefix()
                .is_some_and(|prefix| prefix.as_ref() == "xmlns")
        {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| match error {
                quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, entity)) => {
                    PskcError::UnknownEntity {
                        name: entity.chars().take(40).collect(),
                    }
                }
                other => PskcError::Xml {
                    position,
                    reason: other.to_string(),
                },
            })?;
        if value.len() > limits.max_text_bytes {
            return Err(PskcError::TextTooLong {
                element: format!("{name}@{}", key.local_name().as_ref()),
                maximum: limits.max_text_bytes,
            });
        }
        attributes.push((key.local_name().as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: Zeroizing::new(String::new()),
    })
}

/// Counts one more element (opened or empty) at `depth` open elements, refusing it
/// past either limit: the one check for both kinds of element.
fn count_element(elements: &mut usize, depth: usize, limits: &PskcLimits) -> Result<(), PskcError> {
    *elements += 1;
    if *elements > limits.max_elements {
        return Err(PskcError::TooManyElements {
            maximum: limits.max_elements,
        });
    }
    if depth >= limits.max_depth {
        return Err(PskcError::TooDeep {
            maximum: limits.max_depth,
        });
    }
    Ok(())
}

/// An `xs:integer` in decimal: optional sign, digits, at most 40 characters.
pub(super) fn parse_decimal(text: &str) -> Option<i128> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || text.len() > 40 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// At most 40 characters of a value, for an error message.
pub(super) fn quote(text: &str) -> String {
    text.chars().take(40).collect()
}

/// At most 100 characters: enough for an algorithm URI.
pub(super) fn quote_long(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(document: &str) -> Result<Element, PskcError> {
        parse(document, &PskcLimits::default())
    }

    #[test]
    fn names_lose_their_prefixes_and_entities_resolve() {
        let root = parse_default(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <p:A xmlns:p=\"urn:x\" p:Id=\"a&amp;b\"><p:B>x &lt;&#65;&#x42;<![CDATA[<c>]]></p:B><C/></p:A>",
        )
        .unwrap();
        assert_eq!(root.name, "A");
        assert_eq!(root.attributes, vec![("Id".to_owned(), "a&b".to_owned())]);
        assert_eq!(root.child("B").unwrap().text.as_str(), "x <AB<c>");
        assert!(root.child("C").is_some());
    }

    #[test]
    fn doctype_is_refused() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
                      <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
                      <lolz>&lol2;</lolz>";
        assert!(matches!(
            parse_default(laughs),
            Err(PskcError::DocumentType)
        ));
    }

    #[test]
    fn unknown_entities_are_refused() {
        assert_eq!(
            parse_default("<a>&lol;</a>").err(),
            Some(PskcError::UnknownEntity {
                name: "lol".to_owned()
            })
        );
        assert_eq!(
            parse_default("<a b=\"&lol;\"/>").err(),
            Some(PskcError::UnknownEntity {
                name: "lol".to_owned()
            })
        );
    }

    #[test]
    fn limits_hold() {
        let limits = PskcLimits {
            max_depth: 3,
            max_elements: 5,
            max_text_bytes: 8,
            ..PskcLimits::default()
        };
        assert_eq!(
            parse("<a><b><c><d/></c></b></a>", &limits).err(),
            Some(PskcError::TooDeep { maximum: 3 })
        );
        assert_eq!(
            parse("<a><b/><b/><b/><b/><b/></a>", &limits).err(),
            Some(PskcError::TooManyElements { maximum: 5 })
        );
        assert_eq!(
            parse("<a>123456789</a>", &limits).err(),
            Some(PskcError::TextTooLong {
                element: "a".to_owned(),
                maximum: 8
            })
        );
        assert!(matches!(
            parse("<a b=\"123456789\"/>", &limits),
            Err(PskcError::TextTooLong { .. })
        ));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for document in [
            "",
            "   ",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<a b=\"1\" b=\"2\"/>",
            "<a b=1/>",
            "</a>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
        ] {
            assert!(parse_default(document).is_err(), "{document:?}");
        }
    }

    #[test]
    fn zeroizing_push_grows_through_fresh_buffers() {
        let mut text = Zeroizing::new(String::new());
        for _ in 0..100 {
            push_zeroizing(&mut text, "abc");
        }
        assert_eq!(text.len(), 300);
    }
}
