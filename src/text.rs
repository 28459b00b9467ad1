//! Characters that change how text displays without showing themselves.
//!
//! A token id or an account name is shown to people (operators, customers) who decide
//! by what they see. U+202E RIGHT-TO-LEFT OVERRIDE makes `FOB-\u{202e}1-EVIL` display as
//! `FOB-LIVE-1`; a zero-width space makes two ids that look the same differ. These
//! characters are refused where names are made ([`TokenId`](crate::TokenId),
//! [`KeyUri`](crate::KeyUri) labels) and escaped where text is printed.
//!
//! The list is explicit rather than taken from a Unicode-properties crate: it is short,
//! it changes rarely, and a reviewer can read it. It is Unicode 15.1's general category
//! Cf ("Format") in full, plus the line and paragraph separators (which break a line
//! like a newline) and the Hangul fillers and the combining grapheme joiner (which
//! display as nothing and are used to make look-alike names). Control characters (Cc:
//! NUL, ESC, ...) are [`char::is_control`]'s and are treated alike by
//! [`is_invisible_character`].

/// Unicode 15.1's general category Cf, as inclusive ranges (generated from the
/// Unicode Character Database: every code point whose category is `Cf`).
const FORMAT: [(char, char); 21] = [
    ('\u{ad}', '\u{ad}'),       // soft hyphen
    ('\u{600}', '\u{605}'),     // Arabic number signs
    ('\u{61c}', '\u{61c}'),     // Arabic letter mark (bidi)
    ('\u{6dd}', '\u{6dd}'),     // Arabic end of ayah
    ('\u{70f}', '\u{70f}'),     // Syriac abbreviation mark
    ('\u{890}', '\u{891}'),     // Arabic pound and piastre marks above
    ('\u{8e2}', '\u{8e2}'),     // Arabic disputed end of ayah
    ('\u{180e}', '\u{180e}'),   // Mongolian vowel separator
    ('\u{200b}', '\u{200f}'),   // zero-width space, (non-)joiner, LRM, RLM
    ('\u{202a}', '\u{202e}'),   // bidi embeddings and overrides (LRE ... RLO)
    ('\u{2060}', '\u{2064}'),   // word joiner, invisible operators
    ('\u{2066}', '\u{206f}'),   // bidi isolates (LRI ... PDI), deprecated formats
    ('\u{feff}', '\u{feff}'),   // zero-width no-break space (byte order mark)
    ('\u{fff9}', '\u{fffb}'),   // interlinear annotation
    ('\u{110bd}', '\u{110bd}'), // Kaithi number sign
    ('\u{110cd}', '\u{110cd}'), // Kaithi number sign above
    ('\u{13430}', '\u{1343f}'), // Egyptian hieroglyph format controls
    ('\u{1bca0}', '\u{1bca3}'), // shorthand format controls
    ('\u{1d173}', '\u{1d17a}'), // musical symbol formatting
    ('\u{e0001}', '\u{e0001}'), // language tag
    ('\u{e0020}', '\u{e007f}'), // tag characters
];

/// Characters outside Cf that also display as nothing, or break the line.
const ALSO_INVISIBLE: [char; 7] = [
    '\u{34f}',  // combining grapheme joiner
    '\u{115f}', // Hangul choseong filler
    '\u{1160}', // Hangul jungseong filler
    '\u{2028}', // line separator
    '\u{2029}', // paragraph separator
    '\u{3164}', // Hangul filler
    '\u{ffa0}', // halfwidth Hangul filler
];

/// Whether `character` is a control character (Unicode Cc: NUL, ESC, DEL, ...), a
/// format character (Cf: bidirectional controls such as U+202E, zero-width characters,
/// the soft hyphen, ...) or one of the few other characters that display as nothing or
/// break a line (see the module documentation for the list).
///
/// ```
/// use otpfob::text::is_invisible_character;
///
/// assert!(is_invisible_character('\u{202e}')); // right-to-left override
/// assert!(is_invisible_character('\u{200b}')); // zero-width space
/// assert!(is_invisible_character('\u{1b}')); // escape
/// assert!(!is_invisible_character('é'));
/// assert!(!is_invisible_character(' ')); // visible as a gap; refused elsewhere
/// ```
#[must_use]
pub fn is_invisible_character(character: char) -> bool {
    character.is_control()
        || FORMAT
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&character))
        || ALSO_INVISIBLE.contains(&character)
}

/// `text` with every [invisible character](is_invisible_character) written as a Rust
/// escape (`\u{202e}`, `\n`, `\u{1b}`), so that printed text shows what it holds, stays
/// on one line, and cannot move a terminal's cursor or reverse what follows it.
///
/// ```
/// use otpfob::text::escape_invisible;
///
/// assert_eq!(escape_invisible("FOB-\u{202e}1-EVIL"), "FOB-\\u{202e}1-EVIL");
/// assert_eq!(escape_invisible("a\nb"), "a\\nb");
/// ```
#[must_use]
pub fn escape_invisible(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if is_invisible_character(character) {
            escaped.extend(character.escape_default());
        } else {
            escaped.push(character);
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_are_ordered_and_disjoint() {
        for (first, last) in FORMAT {
            assert!(first <= last);
        }
        for pair in FORMAT.windows(2) {
            assert!(pair[0].1 < pair[1].0);
        }
    }

    #[test]
    fn the_characters_named_in_the_issue_are_invisible() {
        let named = [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{ad}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{feff}',
            '\u{e0041}',
        ];
        for character in named {
            assert!(is_invisible_character(character), "{character:?}");
        }
        for visible in [
            'a', 'Z', '0', '-', '_', '@', 'é', 'ß', '☃', '中', '\u{2065}',
        ] {
            assert!(!is_invisible_character(visible), "{visible:?}");
        }
    }

    #[test]
    fn escapes_are_rust_style() {
        assert_eq!(escape_invisible("\u{feff}x\u{2066}"), "\\u{feff}x\\u{2066}");
        assert_eq!(escape_invisible("plain ü"), "plain ü");
    }
}
