//! Completeness checks of image files before decoding: a JPEG must reach its end-of-image
//! marker and a PNG its `IEND` chunk, with every PNG chunk's CRC intact.
//!
//! The decoders fill what is missing of a file cut short (a truncated JPEG decodes to grey
//! lower rows, a PNG without `IEND` decodes whole), so a damaged file would be classified as if
//! it were complete; Pillow refuses such files ("image file is truncated"), and so do we. The
//! checks walk the file's structure (JPEG marker segments, PNG chunks) instead of searching for
//! the end marker, so that an EXIF thumbnail's end-of-image marker inside an APP1 segment is
//! not taken for the file's own. Every index is checked: no byte slice makes them panic.
//!
//! * JPEG: ITU-T T.81, Annex B (marker segments, entropy-coded data, byte stuffing).
//! * PNG: W3C PNG Specification (Third Edition), section 5 (chunk layout, CRC-32).

/// The 8 bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// `Ok` when `bytes` hold a complete JPEG or PNG file, or a file of another format (whose
/// decoder's own checks stand); otherwise the reason, such as "truncated PNG: no IEND chunk".
/// Data after a JPEG's end-of-image marker or a PNG's `IEND` chunk is allowed (phones append
/// things there).
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        check_jpeg(bytes)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        check_png(bytes)
    } else {
        Ok(())
    }
}

/// Walks a JPEG's marker segments from the start-of-image marker to the end-of-image marker
/// (EOI), skipping each length-prefixed segment whole and, after each start-of-scan segment
/// (SOS; a progressive JPEG has several), the entropy-coded data that follows it.
fn check_jpeg(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 2; // past SOI
    loop {
        let (marker, at) = next_marker(bytes, pos).ok_or_else(|| {
            format!(
                "truncated JPEG: no end-of-image marker (file ends at byte {})",
                bytes.len()
            )
        })?;
        pos = match marker {
            0xD9 => return Ok(()), // EOI
            // Standalone markers: RSTn, TEM, and a repeated SOI.
            0xD0..=0xD7 | 0x01 | 0xD8 => at + 2,
            0xDA => skip_entropy_coded(bytes, segment_end(bytes, marker, at)?)?,
            _ => segment_end(bytes, marker, at)?,
        };
    }
}

/// The next marker at or after `pos` and the offset of its `FF` byte, as libjpeg reads
/// between segments: bytes before an `FF` are skipped (libjpeg warns of "extraneous bytes"),
/// so are fill bytes (`FF FF`) and a stray `FF 00`. `None` at the end of the file.
fn next_marker(bytes: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    loop {
        pos += bytes.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        let fill = bytes.get(pos..)?.iter().take_while(|&&b| b == 0xFF).count();
        let marker_at = pos + fill;
        match *bytes.get(marker_at)? {
            0x00 => pos = marker_at + 1,
            marker => return Some((marker, marker_at - 1)),
        }
    }
}

/// The offset just past the marker segment whose `FF` byte is at `at`: the two bytes after
/// the marker give the segment's length, which counts themselves but not the marker.
fn segment_end(bytes: &[u8], marker: u8, at: usize) -> Result<usize, String> {
    let length = match bytes.get(at + 2..at + 4) {
        Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])),
        _ => {
            return Err(format!(
                "truncated JPEG: file ends inside the length of the FF{marker:02X} segment at \
                 byte {at}"
            ));
        }
    };
    if length < 2 {
        return Err(format!(
            "damaged JPEG: the FF{marker:02X} segment at byte {at} has length {length}"
        ));
    }
    let end = at + 2 + length;
    if end > bytes.len() {
        return Err(format!(
            "truncated JPEG: the FF{marker:02X} segment at byte {at} needs {length} bytes, past \
             the end of the file at byte {}",
            bytes.len()
        ));
    }
    Ok(end)
}

/// The offset of the marker that ends the entropy-coded data starting at `pos`. Inside the
/// data, `FF 00` is a stuffed `FF` byte, restart markers (`FF D0`–`FF D7`) stay in the scan and
/// `FF FF` is fill before a marker.
fn skip_entropy_coded(bytes: &[u8], pos: usize) -> Result<usize, String> {
    let data = bytes.get(pos..).unwrap_or_default();
    let mut iter = data.iter().enumerate().peekable();
    while let Some((offset, &byte)) = iter.next() {
        if byte != 0xFF {
            continue;
        }
        match iter.peek() {
            Some((_, 0x00 | 0xD0..=0xD7)) => {
                iter.next();
            }
            Some((_, 0xFF)) => {} // fill: the next FF may start the marker
            Some(_) => return Ok(pos + offset),
            None => break,
        }
    }
    Err(format!(
        "truncated JPEG: no end-of-image marker (file ends inside the entropy-coded data at byte \
         {})",
        bytes.len()
    ))
}

/// Walks a PNG's chunks after the signature, checking each chunk's CRC, up to `IEND`.
fn check_png(bytes: &[u8]) -> Result<(), String> {
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let chunk = png_chunk(bytes, pos)?;
        if crc32fast::hash(chunk.type_and_data) != chunk.crc {
            return Err(format!(
                "damaged PNG: CRC mismatch in chunk {} at byte {pos}",
                chunk.name()
            ));
        }
        if chunk.kind() == b"IEND" {
            return Ok(());
        }
        pos = chunk.end;
    }
}

/// One PNG chunk, borrowed from the file.
struct PngChunk<'a> {
    /// The 4-byte chunk type followed by the chunk data: what the CRC covers.
    type_and_data: &'a [u8],
    /// The CRC stored after the data.
    crc: u32,
    /// The offset just past the chunk.
    end: usize,
}

impl PngChunk<'_> {
    /// The 4-byte chunk type (`IHDR`, `IDAT`, `IEND`, ...).
    fn kind(&self) -> &[u8] {
        self.type_and_data.get(..4).unwrap_or_default()
    }

    /// The chunk type for messages, non-ASCII bytes escaped.
    fn name(&self) -> String {
        self.kind().escape_ascii().to_string()
    }
}

/// The chunk starting at `pos`: 4-byte big-endian data length, 4-byte type, data, 4-byte CRC.
fn png_chunk(bytes: &[u8], pos: usize) -> Result<PngChunk<'_>, String> {
    let cut = || {
        let place = if pos >= bytes.len() {
            ""
        } else {
            "inside the chunk "
        };
        format!("truncated PNG: no IEND chunk (file ends {place}at byte {pos})")
    };
    let length = match bytes.get(pos..pos + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => return Err(cut()),
    };
    let data_end = usize::try_from(length)
        .ok()
        .and_then(|length| (pos + 8).checked_add(length))
        .ok_or_else(cut)?;
    let type_and_data = bytes.get(pos + 4..data_end).ok_or_else(cut)?;
    let crc = match bytes.get(data_end..data_end + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => return Err(cut()),
    };
    Ok(PngChunk {
        type_and_data,
        crc,
        end: data_end + 4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::PngEncoder;
    use image::{ImageEncoder, RgbImage};

    /// A smooth 64x48 gradient with some texture, as a photo would have.
    fn picture() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x * y) % 256) as u8])
        })
    }

    /// `picture()` as a baseline JPEG made by the `image` crate.
    fn jpeg() -> Vec<u8> {
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&picture())
            .expect("encode JPEG");
        bytes
    }

    /// `picture()` as a PNG made by the `image` crate.
    fn png() -> Vec<u8> {
        let mut bytes = Vec::new();
        let image = picture();
        PngEncoder::new(&mut bytes)
            .write_image(image.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
            .expect("encode PNG");
        bytes
    }

    /// The offset just past the SOS segment (where the entropy-coded data starts).
    fn scan_start(jpeg: &[u8]) -> usize {
        let sos = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("an SOS marker");
        segment_end(jpeg, 0xDA, sos).expect("whole SOS segment")
    }

    #[test]
    fn complete_jpeg_passes() {
        assert_eq!(check_complete(&jpeg()), Ok(()));
    }

    #[test]
    fn jpeg_cut_anywhere_is_refused() {
        let whole = jpeg();
        let scan = scan_start(&whole);
        for cut in [whole.len() / 2, whole.len() - 2, scan, 100] {
            let err = check_complete(&whole[..cut]).expect_err("cut JPEG");
            assert!(err.starts_with("truncated JPEG"), "cut at {cut}: {err}");
        }
        let err = check_complete(&whole[..whole.len() / 2]).expect_err("half");
        assert_eq!(
            err,
            format!(
                "truncated JPEG: no end-of-image marker (file ends inside the entropy-coded \
                 data at byte {})",
                whole.len() / 2
            )
        );
    }

    #[test]
    fn data_after_the_jpeg_end_is_allowed() {
        let mut bytes = jpeg();
        bytes.extend_from_slice(b"\xFF\x00trailing garbage\xFF\xD8\xFF");
        assert_eq!(check_complete(&bytes), Ok(()));
    }

    #[test]
    fn an_end_marker_inside_a_segment_does_not_end_the_file() {
        // An APP1 segment holding FF D9 (as an EXIF thumbnail does) right after SOI.
        let whole = jpeg();
        let app1 = [0xFF, 0xE1, 0x00, 0x08, b'E', b'x', 0xFF, 0xD9, 0xFF, 0xD9];
        let mut bytes = [&whole[..2], &app1[..], &whole[2..]].concat();
        assert_eq!(check_complete(&bytes), Ok(()));
        bytes.truncate(scan_start(&bytes) + 40);
        let err = check_complete(&bytes).expect_err("truncated in the scan");
        assert!(err.contains("entropy-coded data"), "{err}");
    }

    #[test]
    fn progressive_style_scans_and_restart_markers_are_walked() {
        // The `image` crate encodes baseline JPEGs only: a hand-made stream with two scans
        // (as a progressive JPEG has), stuffed bytes, restart markers and fill bytes.
        let sos = [0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 63, 0];
        let scan = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF];
        let dht = [0xFF, 0xC4, 0x00, 0x03, 0x00];
        let parts: [&[u8]; 7] = [&[0xFF, 0xD8], &sos, &scan, &dht, &sos, &scan, &[0xD9]];
        let whole = parts.concat();
        assert_eq!(check_complete(&whole), Ok(()));
        for cut in 2..whole.len() {
            assert!(check_complete(&whole[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn jpeg_segment_past_the_end_is_refused() {
        let bytes = [0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xF0, 0x00, 0x00];
        let err = check_complete(&bytes).expect_err("segment past the end");
        assert!(err.contains("FFE0 segment at byte 2"), "{err}");
        let zero = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 0xFF, 0xD9];
        assert!(
            check_complete(&zero)
                .expect_err("length 0")
                .contains("length 0")
        );
    }

    #[test]
    fn complete_png_passes_and_trailing_data_is_allowed() {
        let mut bytes = png();
        assert_eq!(check_complete(&bytes), Ok(()));
        bytes.extend_from_slice(b"appended by a phone");
        assert_eq!(check_complete(&bytes), Ok(()));
    }

    #[test]
    fn png_without_iend_is_refused() {
        let whole = png();
        let err = check_complete(&whole[..whole.len() - 12]).expect_err("no IEND");
        assert!(err.starts_with("truncated PNG: no IEND chunk"), "{err}");
    }

    #[test]
    fn png_with_a_flipped_idat_byte_is_refused() {
        let mut bytes = png();
        let idat = bytes
            .windows(4)
            .position(|w| w == b"IDAT")
            .expect("an IDAT chunk");
        bytes[idat + 10] ^= 0x40;
        let err = check_complete(&bytes).expect_err("bad CRC");
        assert_eq!(
            err,
            format!(
                "damaged PNG: CRC mismatch in chunk IDAT at byte {}",
                idat - 4
            )
        );
    }

    #[test]
    fn other_formats_are_left_to_their_decoders() {
        for bytes in [&b""[..], b"RIFF\x00\x00\x00\x00WEBP", b"\xFF", b"\x89PNG"] {
            assert_eq!(check_complete(bytes), Ok(()));
        }
    }

    #[test]
    fn every_proper_prefix_is_refused_without_panicking() {
        for whole in [jpeg(), png()] {
            assert_eq!(check_complete(&whole), Ok(()));
            // Shorter than the signature, a prefix is another format; past it, refused.
            let signature = if whole.starts_with(PNG_SIGNATURE) {
                8
            } else {
                2
            };
            for cut in 0..whole.len() {
                let result = check_complete(&whole[..cut]);
                assert_eq!(
                    result.is_err(),
                    cut >= signature,
                    "cut at {cut}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap stand-in for the fuzzer: every byte value at every position of small files.
        for whole in [jpeg(), png()] {
            for pos in (0..whole.len()).step_by(7) {
                for value in [0x00, 0x01, 0xD9, 0xDA, 0xFF] {
                    let mut bytes = whole.clone();
                    bytes[pos] = value;
                    let _ = check_complete(&bytes);
                }
            }
        }
    }
}
