//! QR codes of key URIs decode back to the same URI: the PNG through a PNG decoder,
//! the SVG and the terminal text by redrawing them as pixels, each read by `rqrr`.
#![cfg(feature = "qr")]

use otpfob::{
    KeyUri, Secret, TotpParameters,
    provision::{QrCode, QrError, TerminalBackground},
};

fn enrolment_uri() -> KeyUri {
    KeyUri::new(
        Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
        "alice@example.com",
        TotpParameters::default(),
    )
    .unwrap()
    .with_issuer("Example Bank")
    .unwrap()
}

/// Finds and decodes the one QR code in a greyscale image (0 black, 255 white).
fn read_qr(width: usize, height: usize, pixel: impl FnMut(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[test]
fn png_decodes_to_the_uri() {
    let uri = enrolment_uri();
    let png = uri.to_qr_code().unwrap().to_png(4).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png[..]))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let width = info.width as usize;
    let decoded = read_qr(width, info.height as usize, |x, y| pixels[y * width + x]);
    assert_eq!(decoded, uri.to_uri().as_str());
}

/// Redraws the SVG's `M{x} {y}h{n}v1h-{n}z` runs as pixels, `scale` per module.
fn rasterise_svg(svg: &str, scale: usize) -> (usize, Vec<u8>) {
    let view_box = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let side: usize = view_box.split(' ').next().unwrap().parse().unwrap();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let width = side * scale;
    let mut pixels = vec![255u8; width * width];
    for run in path.split('M').filter(|run| !run.is_empty()) {
        let (x, rest) = run.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let length = rest.split('v').next().unwrap();
        let (x, y, length): (usize, usize, usize) = (
            x.parse().unwrap(),
            y.parse().unwrap(),
            length.parse().unwrap(),
        );
        for row in y * scale..(y + 1) * scale {
            for column in x * scale..(x + length) * scale {
                pixels[row * width + column] = 0;
            }
        }
    }
    (width, pixels)
}

#[test]
fn svg_decodes_to_the_uri() {
    let uri = enrolment_uri();
    let code = uri.to_qr_code().unwrap();
    let svg = code.to_svg(6).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let side = code.width() + 8;
    assert!(svg.contains(&format!("width=\"{}\"", side * 6)));
    let (width, pixels) = rasterise_svg(&svg, 4);
    let decoded = read_qr(width, width, |x, y| pixels[y * width + x]);
    assert_eq!(decoded, uri.to_uri().as_str());
}

/// Redraws half-block text as pixels, `scale` per half cell; `ink` is the colour the
/// characters draw in.
fn rasterise_terminal(text: &str, ink: u8, scale: usize) -> (usize, usize, Vec<u8>) {
    let lines: Vec<Vec<char>> = text.lines().map(|line| line.chars().collect()).collect();
    let columns = lines[0].len();
    // A margin of background around the text, as a terminal window has.
    let margin = 4;
    let width = (columns + 2 * margin) * scale;
    let height = (lines.len() * 2 + 2 * margin) * scale;
    let background = 255 - ink;
    let mut pixels = vec![background; width * height];
    for (row, line) in lines.iter().enumerate() {
        assert_eq!(line.len(), columns, "every line has the same width");
        for (column, cell) in line.iter().enumerate() {
            let (top, bottom) = match cell {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?}"),
            };
            for (half, inked) in [(0, top), (1, bottom)] {
                if !inked {
                    continue;
                }
                let y0 = (2 * row + half + margin) * scale;
                let x0 = (column + margin) * scale;
                for y in y0..y0 + scale {
                    for x in x0..x0 + scale {
                        pixels[y * width + x] = ink;
                    }
                }
            }
        }
    }
    (width, height, pixels)
}

#[test]
fn terminal_text_decodes_to_the_uri_on_either_background() {
    let uri = enrolment_uri();
    let code = uri.to_qr_code().unwrap();
    for (background, ink) in [
        (TerminalBackground::Dark, 255u8),
        (TerminalBackground::Light, 0u8),
    ] {
        let text = code.to_terminal(background);
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), (code.width() + 4).div_ceil(2));
        // On a dark background the characters draw the light modules in white, so
        // the screen shows dark modules as dark either way, which is what a camera
        // (and rqrr) needs.
        let (width, height, pixels) = rasterise_terminal(&text, ink, 3);
        let decoded = read_qr(width, height, |x, y| pixels[y * width + x]);
        assert_eq!(decoded, uri.to_uri().as_str(), "{background:?}");
    }
}

#[test]
fn text_too_long_for_a_qr_code() {
    let text = "a".repeat(3000);
    assert_eq!(
        QrCode::encode(&text).unwrap_err(),
        QrError::TooLong { length: 3000 }
    );
}

#[test]
fn the_largest_level_m_code_still_renders() {
    // 2331 bytes is the byte-mode capacity of version 40 at level M.
    let code = QrCode::encode(&"a".repeat(2331)).unwrap();
    assert_eq!(code.width(), 177);
    assert!(code.to_png(1).unwrap().len() > 100);
}
