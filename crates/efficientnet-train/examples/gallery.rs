//! A PNG contact sheet: each image as a 4:3 thumbnail (center-cropped to fill), captioned
//! with its file name and its top-3 ImageNet labels with probabilities (the Rust counterpart
//! of an "inference demo notebook"). Three columns; prints each image's top-1.
//!
//! ```sh
//! cargo run -p efficientnet-train --example gallery -- MODEL WEIGHTS OUT.png IMAGE...
//! # docs/img/gallery.png: the nine sample photos (tests/fixtures/images/README.md)
//! I=tests/fixtures/images
//! cargo run -p efficientnet-train --example gallery -- lite0 \
//!     efficientnet-lite0-57934424.pth docs/img/gallery.png $I/chelsea.jpg $I/coffee.jpg \
//!     $I/camera.jpg $I/rocket.jpg $I/clock.jpg $I/astronaut.jpg $I/retina.jpg $I/brick.jpg \
//!     $I/hubble_deep_field.jpg
//! ```

use std::path::Path;

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use efficientnet::ModelName;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::load_image;
use efficientnet::weights::Pretrained;
use efficientnet_train::draw_text;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

/// Thumbnail size (4:3): wide enough for a caption line of 23 16-px glyphs
/// (`"16.7% drilling platform"`).
const THUMB_W: u32 = 368;
const THUMB_H: u32 = 276;
const COLUMNS: u32 = 3;
/// Space around and between the tiles.
const GAP: u32 = 16;
/// Height of a caption line (16-px glyphs plus spacing).
const LINE: u32 = 20;
/// Caption below a thumbnail: a gap, the file name, the top-3 lines.
const CAPTION: u32 = 8 + 4 * LINE;
/// Characters that fit a caption line.
const LINE_CHARS: usize = (THUMB_W / 16) as usize;

const NAME_COLOUR: [u8; 3] = [30, 70, 150];
const TOP1_COLOUR: [u8; 3] = [0, 0, 0];
const OTHER_COLOUR: [u8; 3] = [100, 100, 100];

/// `text` cut to `LINE_CHARS` characters, ending in ".." where it was cut.
fn fit(text: &str) -> String {
    if text.chars().count() <= LINE_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(LINE_CHARS - 2).collect();
    cut.push_str("..");
    cut
}

/// Writes `sheet` to `path`: a `.png` at the best zlib compression (the photos make up most
/// of the file), anything else in the format its extension names.
fn save(sheet: &RgbImage, path: &Path) -> image::ImageResult<()> {
    let png = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("png"));
    if !png {
        return sheet.save(path);
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    PngEncoder::new_with_quality(file, CompressionType::Best, PngFilter::Adaptive).write_image(
        sheet,
        sheet.width(),
        sheet.height(),
        ExtendedColorType::Rgb8,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(weights), Some(out)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: gallery MODEL WEIGHTS OUT.png IMAGE...".into());
    };
    let images: Vec<String> = args.collect();
    if images.is_empty() {
        return Err("give at least one image".into());
    }
    let name: ModelName = model.parse()?;
    let device = Device::flex();
    let pretrained = Pretrained::open(weights, name)?;
    let (model, _report) = pretrained.init(&device)?;
    let transform = pretrained.transform();

    let columns = COLUMNS.min(images.len() as u32);
    let rows = (images.len() as u32).div_ceil(columns);
    let (tile_w, tile_h) = (THUMB_W + GAP, THUMB_H + CAPTION + GAP);
    let mut sheet = RgbImage::from_pixel(
        columns * tile_w + GAP,
        rows * tile_h + GAP,
        Rgb([255, 255, 255]),
    );
    for (i, path) in images.iter().enumerate() {
        let image = load_image(path.as_ref())?;
        let batch = transform.batch(std::slice::from_ref(&image), &device); // [1, 3, crop, crop]
        let probs: Vec<f32> = softmax(model.forward(batch), 1) // [1, classes]
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        let order = top_k(&probs, 3);

        let (x, y) = (
            GAP + (i as u32 % columns) * tile_w,
            GAP + (i as u32 / columns) * tile_h,
        );
        // Every thumbnail the same size: scaled to cover THUMB_W x THUMB_H, center-cropped.
        let thumb = image
            .resize_to_fill(THUMB_W, THUMB_H, FilterType::Lanczos3)
            .to_rgb8();
        imageops::overlay(&mut sheet, &thumb, i64::from(x), i64::from(y));

        let mut line_y = y + THUMB_H + 8;
        let file = Path::new(path)
            .file_name()
            .map_or_else(|| path.clone(), |f| f.to_string_lossy().into_owned());
        draw_text(&mut sheet, x, line_y, &fit(&file), NAME_COLOUR);
        for (rank, &class) in order.iter().enumerate() {
            line_y += LINE;
            let label = imagenet::class_name(class).unwrap_or("?");
            let caption = fit(&format!("{:>4.1}% {label}", 100.0 * probs[class]));
            let colour = if rank == 0 { TOP1_COLOUR } else { OTHER_COLOUR };
            draw_text(&mut sheet, x, line_y, &caption, colour);
        }
        println!(
            "{path}: {} ({:.1}%)",
            imagenet::class_name(order[0]).unwrap_or("?"),
            100.0 * probs[order[0]]
        );
    }
    save(&sheet, Path::new(&out)).map_err(|err| format!("{out}: {err}"))?;
    println!("wrote {out}");
    Ok(())
}
