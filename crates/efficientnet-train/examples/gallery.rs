//! A PNG contact sheet: each image with its top-3 ImageNet labels under it (the Rust
//! counterpart of an "inference demo notebook").
//!
//! ```sh
//! cargo run -p efficientnet-train --example gallery -- MODEL WEIGHTS OUT.png IMAGE...
//! cargo run -p efficientnet-train --example gallery -- lite0 efficientnet-lite0-57934424.pth \
//!     gallery.png tests/fixtures/images/chelsea.jpg tests/fixtures/images/coffee.jpg
//! ```

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use efficientnet::ModelName;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::load_image;
use efficientnet::weights::Pretrained;
use efficientnet_train::draw_text;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// Thumbnail side and the caption below it (three 16-px lines).
const THUMB: u32 = 320;
const CAPTION: u32 = 3 * 20 + 12;
const COLUMNS: u32 = 3;
const MARGIN: u32 = 12;
/// Characters that fit a caption line (16-px glyphs).
const LINE_CHARS: usize = (THUMB / 16) as usize;

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
    let (tile_w, tile_h) = (THUMB + MARGIN, THUMB + CAPTION + MARGIN);
    let mut sheet = RgbImage::from_pixel(
        columns * tile_w + MARGIN,
        rows * tile_h + MARGIN,
        Rgb([255, 255, 255]),
    );
    for (i, path) in images.iter().enumerate() {
        let image = load_image(path.as_ref())?;
        let batch = transform.batch(std::slice::from_ref(&image), &device); // [1, 3, crop, crop]
        let probs: Vec<f32> = softmax(model.forward(batch), 1)
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        let order = top_k(&probs, 3);

        let (x, y) = (
            MARGIN + (i as u32 % columns) * tile_w,
            MARGIN + (i as u32 / columns) * tile_h,
        );
        // Fit the image in the square, centred.
        let thumb = image.resize(THUMB, THUMB, FilterType::Triangle).to_rgb8();
        let (dx, dy) = ((THUMB - thumb.width()) / 2, (THUMB - thumb.height()) / 2);
        imageops::overlay(&mut sheet, &thumb, i64::from(x + dx), i64::from(y + dy));
        for (line, &class) in order.iter().enumerate() {
            let label = imagenet::class_name(class).unwrap_or("?");
            let mut caption = format!("{:>4.1}% {label}", 100.0 * probs[class]);
            caption.truncate(
                caption
                    .char_indices()
                    .nth(LINE_CHARS)
                    .map_or(caption.len(), |(b, _)| b),
            );
            let colour = if line == 0 { [0, 0, 0] } else { [90, 90, 90] };
            draw_text(
                &mut sheet,
                x,
                y + THUMB + 8 + line as u32 * 20,
                &caption,
                colour,
            );
        }
        println!(
            "{path}: {} ({:.1}%)",
            imagenet::class_name(order[0]).unwrap_or("?"),
            100.0 * probs[order[0]]
        );
    }
    sheet.save(&out)?;
    println!("wrote {out}");
    Ok(())
}
