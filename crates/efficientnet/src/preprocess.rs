//! Image decoding and the evaluation transform (resize the shorter side, center crop,
//! normalise), as torchvision's `Resize` + `CenterCrop` + `Normalize`.
//!
//! ```
//! use burn::tensor::Device;
//! use efficientnet::preprocess::{EvalTransform, load_image};
//!
//! // A 120x80 PNG on disk (any JPEG, PNG or WebP file works the same).
//! let path = std::env::temp_dir().join(format!("efficientnet-doc-{}.png", std::process::id()));
//! image::RgbImage::from_pixel(120, 80, image::Rgb([200, 30, 90])).save(&path)?;
//! let image = load_image(&path)?;
//! std::fs::remove_file(&path)?;
//!
//! // B0's torchvision transform: shorter side to 256 (bicubic), center crop 224, ImageNet stats.
//! let transform = EvalTransform::imagenet(256, 224);
//! let batch = transform.batch(&[image.clone(), image], &Device::default());
//! assert_eq!(batch.dims(), [2, 3, 224, 224]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};
use crate::integrity;

/// Resampling filter of the resize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Interpolation {
    /// Bilinear (triangle filter).
    Bilinear,
    /// Bicubic (Catmull-Rom).
    Bicubic,
}

/// ImageNet channel mean (RGB, 0–1 scale).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviation (RGB, 0–1 scale).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Inception-style normalisation to `[-1, 1]` (TF Lite ports, TF EfficientNetV2 ports).
pub const INCEPTION_MEAN_STD: [f32; 3] = [0.5, 0.5, 0.5];

/// The evaluation transform of a weight set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalTransform {
    /// Target length of the shorter side after resizing.
    pub resize: u32,
    /// Side of the square center crop.
    pub crop: u32,
    /// Resampling filter.
    pub interpolation: Interpolation,
    /// Per-channel mean subtracted after scaling to `[0, 1]`.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
}

impl EvalTransform {
    /// Resize to `resize`, crop `crop`, bicubic, ImageNet statistics.
    pub fn imagenet(resize: u32, crop: u32) -> Self {
        Self {
            resize,
            crop,
            interpolation: Interpolation::Bicubic,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }

    /// timm's rule: crop `size`, resize `floor(size / crop_pct)`.
    pub fn crop_pct(size: u32, crop_pct: f64) -> Self {
        Self::imagenet((f64::from(size) / crop_pct).floor() as u32, size)
    }

    /// Applies the transform to one image.
    ///
    /// # Shapes
    /// - output: `[3, crop, crop]` values, channel-major (CHW), row-major within a channel
    ///
    /// ```
    /// use efficientnet::preprocess::{EvalTransform, IMAGENET_MEAN, IMAGENET_STD};
    ///
    /// let white = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
    ///     64,
    ///     48,
    ///     image::Rgb([255, 255, 255]),
    /// ));
    /// let values = EvalTransform::imagenet(36, 32).apply(&white);
    /// assert_eq!(values.len(), 3 * 32 * 32);
    /// // Every pixel of the red plane is (1 - mean) / std.
    /// let red = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
    /// assert!(values[..32 * 32].iter().all(|v| (v - red).abs() < 1e-4));
    /// ```
    pub fn apply(&self, image: &DynamicImage) -> Vec<f32> {
        let image = bound_for_resize(image, self.resize);
        let rgb = image.to_rgb32f(); // any colour type and bit depth -> RGB in [0, 1]
        let (w, h) = rgb.dimensions();
        // Shorter side to `resize`, the other in proportion (torchvision truncates).
        let (nw, nh) = if w <= h {
            (
                self.resize,
                (f64::from(self.resize) * f64::from(h) / f64::from(w)) as u32,
            )
        } else {
            (
                (f64::from(self.resize) * f64::from(w) / f64::from(h)) as u32,
                self.resize,
            )
        };
        let filter = match self.interpolation {
            Interpolation::Bilinear => FilterType::Triangle,
            Interpolation::Bicubic => FilterType::CatmullRom,
        };
        let resized = image::imageops::resize(&rgb, nw.max(1), nh.max(1), filter);
        let crop = self.crop as usize;
        // torchvision: top = round((h - crop) / 2); pads with zeros when the image is smaller.
        let offset = |size: u32| ((f64::from(size) - crop as f64) / 2.0).round() as i64;
        let (top, left) = (offset(nh), offset(nw));
        let mut out = vec![0.0f32; 3 * crop * crop];
        for y in 0..crop {
            for x in 0..crop {
                let (sy, sx) = (top + y as i64, left + x as i64);
                let inside = sy >= 0 && sx >= 0 && (sy as u32) < nh && (sx as u32) < nw;
                let pixel = if inside {
                    resized.get_pixel(sx as u32, sy as u32).0
                } else {
                    [0.0; 3]
                };
                for c in 0..3 {
                    out[c * crop * crop + y * crop + x] = (pixel[c] - self.mean[c]) / self.std[c];
                }
            }
        }
        out
    }

    /// Transforms and stacks images into a batch.
    ///
    /// # Shapes
    /// - output: `[N, 3, crop, crop]`
    pub fn batch(&self, images: &[DynamicImage], device: &Device) -> Tensor<4> {
        let crop = self.crop as usize;
        let values: Vec<f32> = images.iter().flat_map(|img| self.apply(img)).collect();
        Tensor::from_data(
            TensorData::new(values, [images.len(), 3, crop, crop]),
            device,
        )
    }
}

/// Longest-to-shortest side ratio kept before the evaluation resize; the center crop never
/// reaches beyond it.
const MAX_ASPECT: u32 = 4;

/// `image`, cut down where that cannot change the evaluation output much but bounds the work:
/// sides longer than [`MAX_ASPECT`] times the short side are center-cropped (the crop uses the
/// central `crop / resize` of the short side only), and a short side over 4x `resize` is first
/// downscaled to 2x `resize` in the image's own pixel type (a 9496x1 JPEG would otherwise be
/// resized to 700,000x73 float pixels; a 50-megapixel photo converted to 600 MB of floats).
fn bound_for_resize(image: &DynamicImage, resize: u32) -> std::borrow::Cow<'_, DynamicImage> {
    use std::borrow::Cow;
    let (w, h) = (image.width(), image.height());
    let (short, long) = (w.min(h), w.max(h));
    let mut image: Cow<'_, DynamicImage> = Cow::Borrowed(image);
    if long > MAX_ASPECT * short.max(1) {
        let keep = MAX_ASPECT * short.max(1);
        image = Cow::Owned(if w > h {
            image.crop_imm((w - keep) / 2, 0, keep, h)
        } else {
            image.crop_imm(0, (h - keep) / 2, w, keep)
        });
    }
    match downscale_for(&image, resize) {
        Some(smaller) => Cow::Owned(smaller),
        None => image,
    }
}

/// When `image`'s short side exceeds 4x `target`, the image downscaled (in its own pixel type,
/// bilinear with antialiasing) to a short side of 2x `target`: a cheap first step before a
/// float resize to `target`, bounding the float buffer. `None` when the image is small enough.
pub fn downscale_for(image: &DynamicImage, target: u32) -> Option<DynamicImage> {
    let short = image.width().min(image.height());
    if short <= 4 * target {
        return None;
    }
    let scale = f64::from(2 * target) / f64::from(short);
    let (nw, nh) = (
        (f64::from(image.width()) * scale).round().max(1.0) as u32,
        (f64::from(image.height()) * scale).round().max(1.0) as u32,
    );
    Some(image.resize_exact(nw, nh, FilterType::Triangle))
}

/// Largest image side accepted, in pixels (larger claims are refused before decoding).
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Largest decoded image accepted, in bytes, counting at least 4 bytes a pixel (512 MiB: up
/// to 134 megapixels); decompression bombs claiming more are refused before allocating.
pub const MAX_DECODED_BYTES: u64 = 512 << 20;

/// Largest image file accepted, in bytes (512 MiB): the file is read into memory whole, and
/// larger ones are refused before reading.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Decodes a JPEG, PNG or WebP file of any colour type (grayscale, RGBA, CMYK JPEG, 16-bit),
/// applying its EXIF orientation. Decompression bombs are refused by size limits
/// ([`MAX_FILE_BYTES`], [`MAX_IMAGE_SIDE`], [`MAX_DECODED_BYTES`]). Truncated or damaged JPEG
/// and PNG files (a JPEG without its end-of-image marker, a PNG without its `IEND` chunk or with
/// a bad chunk CRC) are refused as Pillow refuses them ("image file is truncated"), where the
/// decoders alone would fill in the missing part.
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = read_bounded(path)?;
    // The extension first, as `ImageReader::open` does; the content's signature wins.
    let hint = ImageFormat::from_path(path).ok();
    decode(bytes, hint).map_err(|reason| Error::Image {
        path: path.to_path_buf(),
        reason,
    })
}

/// Decodes an image held in memory (an HTTP upload, say) as [`load_image`] decodes a file,
/// with the same limits and the same refusal of truncated files; the format comes from the
/// content. `name` stands for the bytes in the error (`Error::Image`'s `path`).
///
/// ```
/// use efficientnet::preprocess::decode_image;
///
/// let mut png = Vec::new();
/// image::RgbImage::from_pixel(4, 3, image::Rgb([1, 2, 3]))
///     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
/// assert_eq!(decode_image(png.clone(), "upload")?.width(), 4);
///
/// let err = decode_image(png[..png.len() - 12].to_vec(), "upload").unwrap_err();
/// assert!(err.to_string().starts_with("upload: cannot read image"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_image(bytes: Vec<u8>, name: &str) -> Result<DynamicImage> {
    let fail = |reason: String| Error::Image {
        path: name.into(),
        reason,
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(format!(
            "{} MiB, over the limit of {} MiB",
            bytes.len() >> 20,
            MAX_FILE_BYTES >> 20
        )));
    }
    decode(bytes, None).map_err(fail)
}

/// The decoding shared by [`load_image`] and [`decode_image`]: integrity check, format from
/// the content (after `hint`), limits, EXIF orientation; the reason when it fails.
fn decode(bytes: Vec<u8>, hint: Option<ImageFormat>) -> std::result::Result<DynamicImage, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    integrity::check_complete(&bytes)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    if let Some(format) = hint {
        reader.set_format(format);
    }
    let mut reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err("not a recognised image format (JPEG, PNG or WebP)".into());
    }
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    check_claimed_size(&decoder)?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The whole file at `path`, refused (before reading) when over [`MAX_FILE_BYTES`]. The read
/// itself stops past the bound too, for files whose size the metadata does not tell (pipes,
/// devices).
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |bytes: u64| Error::Image {
        path: path.to_path_buf(),
        reason: format!(
            "the file is {} MiB, over the limit of {} MiB",
            bytes >> 20,
            MAX_FILE_BYTES >> 20
        ),
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or_default());
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Refuses a decoder whose header claims more than [`MAX_DECODED_BYTES`], before the pixel
/// buffer is allocated and filled. At least 4 bytes a pixel are counted: some decoders (WebP)
/// allocate RGBA whatever they report.
fn check_claimed_size(decoder: &impl ImageDecoder) -> std::result::Result<(), String> {
    let (width, height) = decoder.dimensions();
    let needed = decoder
        .total_bytes()
        .max(u64::from(width) * u64::from(height) * 4);
    if needed > MAX_DECODED_BYTES {
        return Err(format!(
            "{width}x{height} pixels need {} MiB decoded, over the limit of {} MiB",
            needed >> 20,
            MAX_DECODED_BYTES >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn output_is_chw_normalised_crop() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 20, Rgb([255, 0, 128])));
        let t = EvalTransform {
            resize: 16,
            crop: 8,
            interpolation: Interpolation::Bilinear,
            mean: [0.5; 3],
            std: [0.5; 3],
        };
        let out = t.apply(&image);
        assert_eq!(out.len(), 3 * 8 * 8);
        assert!(out[..64].iter().all(|v| (v - 1.0).abs() < 1e-5)); // R = 1.0 -> 1
        assert!(out[64..128].iter().all(|v| (v + 1.0).abs() < 1e-5)); // G = 0 -> -1
        assert!(
            out[128..]
                .iter()
                .all(|v| (v - (128.0 / 255.0 - 0.5) / 0.5).abs() < 1e-4)
        );
    }

    #[test]
    fn grayscale_and_16_bit_become_rgb() {
        let gray = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            10,
            10,
            image::Luma([65535u16]),
        ));
        let out = EvalTransform::imagenet(10, 10).apply(&gray);
        let white_r = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        assert!((out[0] - white_r).abs() < 1e-4);
    }

    /// A scratch file of this test process.
    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("efficientnet-{}-{name}", std::process::id()))
    }

    /// The hostile fixtures cut short or damaged (`tests/fixtures/hostile`), which the decoders
    /// alone would complete with filler: refused, and the message names the file.
    #[test]
    fn truncated_and_damaged_files_are_refused_naming_the_file() {
        let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/hostile");
        for (name, reason) in [
            ("truncated.jpg", "truncated JPEG: no end-of-image marker"),
            ("truncated.png", "truncated PNG: no IEND chunk"),
            ("bad_crc.png", "damaged PNG: CRC mismatch in chunk IDAT"),
        ] {
            let err = load_image(&hostile.join(name)).expect_err(name);
            assert!(matches!(err, Error::Image { .. }), "{name}: {err}");
            let message = err.to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains(reason), "{message}");
        }
    }

    #[test]
    fn data_after_the_end_of_a_jpeg_still_decodes() {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut bytes)
            .encode_image(&RgbImage::from_pixel(16, 8, Rgb([10, 200, 30])))
            .expect("encode");
        bytes.extend_from_slice(b"appended by a phone");
        let path = scratch("trailing.jpg");
        std::fs::write(&path, &bytes).expect("write");
        let image = load_image(&path);
        std::fs::remove_file(&path).expect("remove");
        let image = image.expect("decodes");
        assert_eq!((image.width(), image.height()), (16, 8));
    }

    #[test]
    fn files_over_the_size_limit_are_refused_before_reading() {
        // A sparse file: its length is claimed, not written.
        let path = scratch("huge.jpg");
        File::create(&path)
            .and_then(|file| file.set_len(MAX_FILE_BYTES + 1))
            .expect("sparse file");
        let err = load_image(&path).expect_err("over the limit");
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(err, Error::Image { .. }), "{err}");
        assert!(
            err.to_string().contains("over the limit of 512 MiB"),
            "{err}"
        );
    }

    #[test]
    fn crop_pct_follows_timm() {
        assert_eq!(EvalTransform::crop_pct(224, 0.875).resize, 256);
        assert_eq!(EvalTransform::crop_pct(300, 0.904).resize, 331); // tf_efficientnet_b3
    }
}
