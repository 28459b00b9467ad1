//! QR codes of key URIs, rendered as SVG, PNG, or Unicode half blocks for a terminal.
//!
//! The `qrcode` crate encodes; the three renderers are written here rather than taken
//! from `qrcode`'s, because the picture of a key URI is the secret, and every buffer
//! that holds it here is zeroized and sized once, so that no copy is left in freed
//! memory by a reallocation.

use core::fmt::Write as _;

use qrcode::EcLevel;
use zeroize::Zeroizing;

use crate::provision::error::QrError;
use crate::provision::key_uri::KeyUri;

/// Light modules drawn around the code in SVG and PNG, as ISO/IEC 18004 asks.
const QUIET_ZONE: usize = 4;

/// Light modules drawn around the code in a terminal, where space is short; phone
/// cameras read it, and a terminal's background continues the margin.
const TERMINAL_QUIET_ZONE: usize = 2;

/// The largest module size [`QrCode::to_png`] and [`QrCode::to_svg`] accept, in pixels:
/// a version 40 code is then 5920 pixels wide, a 35 MB greyscale image before
/// compression.
pub const MAX_QR_MODULE_PIXELS: u32 = 32;

/// Which way round a terminal draws a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
// Deliberately exhaustive: a terminal is dark or light.
#[allow(clippy::exhaustive_enums)]
pub enum TerminalBackground {
    /// Light text on a dark background (most terminals): light modules are drawn with
    /// block characters and dark modules are left as background.
    #[default]
    Dark,
    /// Dark text on a light background: dark modules are drawn with block characters.
    Light,
}

/// A QR code: a square of dark and light modules, encoded at error-correction level M
/// (15 % of the code may be lost), ready to render.
///
/// # Security
///
/// The code of a key URI carries the secret as plainly as the URI does. The modules
/// and every rendering are zeroized on drop. The `qrcode` crate's own working buffers
/// during encoding are not under this crate's control and are not zeroized.
///
/// ```
/// use otpfob::{KeyUri, provision::TerminalBackground};
///
/// let uri = KeyUri::parse("otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example")?;
/// let code = uri.to_qr_code()?;
/// assert_eq!(code.width(), 37); // version 5: 37 modules a side
/// let svg = code.to_svg(8)?;
/// assert!(svg.starts_with("<svg"));
/// let png = code.to_png(4)?;
/// assert_eq!(&png[1..4], b"PNG");
/// let text = code.to_terminal(TerminalBackground::Dark);
/// assert_eq!(text.lines().count(), (37 + 2 * 2 + 1) / 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct QrCode {
    width: usize,
    modules: Zeroizing<Vec<bool>>,
}

impl core::fmt::Debug for QrCode {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "QrCode({0}x{0} modules, [REDACTED])", self.width)
    }
}

impl QrCode {
    /// Encodes `text` (as bytes) at error-correction level M.
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] past the capacity of a version 40 code (2331 bytes at
    /// level M), [`QrError::Encoding`] for any other refusal of the encoder.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|error| match error {
                qrcode::types::QrError::DataTooLong => QrError::TooLong { length: text.len() },
                other => QrError::Encoding {
                    reason: other.to_string(),
                },
            })?;
        let width = code.width();
        // The encoder's own buffer (like its working state) is not zeroized.
        let colors = code.into_colors();
        let mut modules = Zeroizing::new(Vec::with_capacity(colors.len()));
        modules.extend(colors.iter().map(|color| *color == qrcode::Color::Dark));
        Ok(Self { width, modules })
    }

    /// Modules per side, without the quiet zone.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; `false` outside the code,
    /// so the quiet zone can be drawn by asking for negative or large coordinates.
    #[must_use]
    pub fn is_dark(&self, x: isize, y: isize) -> bool {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return false;
        };
        x < self.width && y < self.width && self.modules.get(y * self.width + x) == Some(&true)
    }

    /// An SVG image, `module_pixels` pixels per module, with a four-module quiet zone:
    /// a white square and one black path of horizontal runs.
    ///
    /// # Errors
    ///
    /// [`QrError::ModuleSize`] outside 1 to [`MAX_QR_MODULE_PIXELS`].
    ///
    /// # Security
    ///
    /// The image carries the secret; the string is zeroized on drop.
    pub fn to_svg(&self, module_pixels: u32) -> Result<Zeroizing<String>, QrError> {
        check_module_size(module_pixels)?;
        let side = self.width + 2 * QUIET_ZONE;
        let pixels = side as u64 * u64::from(module_pixels);
        let header = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{pixels}\" \
             height=\"{pixels}\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\""
        );
        let footer = "\"/></svg>\n";
        let runs = self.dark_runs();
        // Each run is written as `M{x} {y}h{length}v1h-{length}z`: at most 4 numbers of
        // at most 3 digits and 8 other characters.
        let mut svg = Zeroizing::new(String::with_capacity(
            header.len() + footer.len() + runs.len() * 20,
        ));
        svg.push_str(&header);
        for &(x, y, length) in runs.iter() {
            // Writing to a String cannot fail.
            let _ = write!(
                svg,
                "M{} {}h{length}v1h-{length}z",
                x + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
        svg.push_str(footer);
        Ok(svg)
    }

    /// A greyscale PNG image, `module_pixels` pixels per module, with a four-module
    /// quiet zone.
    ///
    /// # Errors
    ///
    /// [`QrError::ModuleSize`] outside 1 to [`MAX_QR_MODULE_PIXELS`], [`QrError::Png`]
    /// if the PNG encoder fails.
    ///
    /// # Security
    ///
    /// The image carries the secret; the pixels and the PNG bytes are zeroized on
    /// drop. The PNG buffer is reserved large enough for the uncompressed image, so it
    /// is not reallocated as the encoder writes.
    pub fn to_png(&self, module_pixels: u32) -> Result<Zeroizing<Vec<u8>>, QrError> {
        check_module_size(module_pixels)?;
        let scale = module_pixels as usize;
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = Zeroizing::new(vec![0u8; side * side]);
        for (index, pixel) in pixels.iter_mut().enumerate() {
            let x = (index % side / scale) as isize - QUIET_ZONE as isize;
            let y = (index / side / scale) as isize - QUIET_ZONE as isize;
            *pixel = if self.is_dark(x, y) { 0 } else { 255 };
        }
        let png_error = |error: png::EncodingError| QrError::Png {
            reason: error.to_string(),
        };
        // Deflate never grows data by more than a few bytes per 64 KiB block; the
        // rest is one filter byte per row and the chunk headers.
        let mut png = Zeroizing::new(Vec::with_capacity(side * side + side + 1024));
        {
            let side = u32::try_from(side).map_err(|_| QrError::ModuleSize {
                pixels: module_pixels,
                maximum: MAX_QR_MODULE_PIXELS,
            })?;
            let mut encoder = png::Encoder::new(&mut *png, side, side);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(png_error)?;
            writer.write_image_data(&pixels).map_err(png_error)?;
            writer.finish().map_err(png_error)?;
        }
        Ok(png)
    }

    /// The code as lines of Unicode half blocks (`▀`, `▄`, `█`, space), two modules
    /// per character cell, with a two-module quiet zone, for printing to a terminal
    /// whose background is `background`. Lines end with `\n`.
    ///
    /// # Security
    ///
    /// The text carries the secret; it is zeroized on drop. A terminal's scroll-back
    /// keeps what was printed: clear it after enrolment.
    #[must_use]
    pub fn to_terminal(&self, background: TerminalBackground) -> Zeroizing<String> {
        let margin = TERMINAL_QUIET_ZONE as isize;
        let side = self.width as isize + 2 * margin;
        let rows = (side + 1) / 2;
        // Every cell is one 3-byte character, or a 1-byte space, plus a newline a row.
        let mut text = Zeroizing::new(String::with_capacity((rows * (side * 3 + 1)) as usize));
        // The character draws the "ink": light modules on a dark background, dark ones
        // on a light background.
        let ink = |x: isize, y: isize| {
            let dark = self.is_dark(x - margin, y - margin);
            let outside = y >= side;
            match background {
                TerminalBackground::Dark => !dark && !outside,
                TerminalBackground::Light => dark,
            }
        };
        for row in 0..rows {
            for x in 0..side {
                let cell = match (ink(x, 2 * row), ink(x, 2 * row + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                };
                text.push(cell);
            }
            text.push('\n');
        }
        text
    }

    /// Horizontal runs of dark modules: (column, row, length).
    fn dark_runs(&self) -> Zeroizing<Vec<(usize, usize, usize)>> {
        let mut runs = Zeroizing::new(Vec::with_capacity(self.modules.len() / 2 + 1));
        for (y, row) in self.modules.chunks(self.width.max(1)).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let start = x;
                    while x < row.len() && row[x] {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

impl KeyUri {
    /// The QR code of [`KeyUri::to_uri`], as authenticator apps scan it.
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] for a URI too long for a QR code (only possible with
    /// very long names or extra parameters).
    ///
    /// # Security
    ///
    /// See [`QrCode`]: the code carries the secret.
    pub fn to_qr_code(&self) -> Result<QrCode, QrError> {
        QrCode::encode(&self.to_uri())
    }
}

fn check_module_size(pixels: u32) -> Result<(), QrError> {
    if (1..=MAX_QR_MODULE_PIXELS).contains(&pixels) {
        Ok(())
    } else {
        Err(QrError::ModuleSize {
            pixels,
            maximum: MAX_QR_MODULE_PIXELS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let code = QrCode::encode("hello").unwrap();
        let mut covered = vec![false; code.width() * code.width()];
        for &(x, y, length) in code.dark_runs().iter() {
            for column in x..x + length {
                covered[y * code.width() + column] = true;
            }
        }
        assert_eq!(covered, *code.modules);
    }

    #[test]
    fn outside_is_light() {
        let code = QrCode::encode("hello").unwrap();
        assert!(code.is_dark(0, 0), "finder pattern corner");
        assert!(!code.is_dark(-1, 0));
        assert!(!code.is_dark(0, code.width() as isize));
    }

    #[test]
    fn module_size_is_checked() {
        let code = QrCode::encode("hello").unwrap();
        for pixels in [0, MAX_QR_MODULE_PIXELS + 1] {
            let expected = QrError::ModuleSize {
                pixels,
                maximum: MAX_QR_MODULE_PIXELS,
            };
            assert_eq!(code.to_png(pixels).unwrap_err(), expected);
            assert_eq!(code.to_svg(pixels).unwrap_err(), expected);
        }
    }

    #[test]
    fn debug_does_not_draw_the_code() {
        let code = QrCode::encode("hello").unwrap();
        assert_eq!(format!("{code:?}"), "QrCode(21x21 modules, [REDACTED])");
    }
}
