//! Backbone endpoints for detection or segmentation heads: the feature maps at strides
//! 2, 4, 8, 16 and 32 (`EfficientNet::forward_features`), printed with their shapes and drawn
//! as a PNG strip (the input, then each endpoint's mean activation magnitude over channels).
//!
//! ```sh
//! cargo run -p efficientnet-train --example features -- MODEL WEIGHTS IMAGE OUT.png
//! cargo run -p efficientnet-train --example features -- lite0 efficientnet-lite0-57934424.pth \
//!     tests/fixtures/images/chelsea.jpg features.png
//! ```

use burn::tensor::Device;
use efficientnet::ModelName;
use efficientnet::preprocess::load_image;
use efficientnet::weights::Pretrained;
use efficientnet_train::draw_text;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, Rgb, RgbImage};

/// Side of each panel of the strip, and the label band above it.
const PANEL: u32 = 224;
const LABEL: u32 = 28;

/// A colour ramp from dark blue through green to yellow, for `t` in 0..=1.
fn ramp(t: f32) -> Rgb<u8> {
    let stops = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let (i, f) = (x.floor() as usize, x.fract());
    let (a, b) = (stops[i], stops[(i + 1).min(stops.len() - 1)]);
    Rgb([0, 1, 2].map(|c| (a[c] + (b[c] - a[c]) * f) as u8))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, weights, image, out] = args.as_slice() else {
        return Err("usage: features MODEL WEIGHTS IMAGE OUT.png".into());
    };
    let name: ModelName = model.parse()?;
    let device = Device::flex();
    let pretrained = Pretrained::open(weights, name)?;
    let (model, _report) = pretrained.init(&device)?;
    let transform = pretrained.transform();

    let picture = load_image(image.as_ref())?;
    let batch = transform.batch(std::slice::from_ref(&picture), &device); // [1, 3, crop, crop]
    let endpoints = model.forward_features(batch); // five [1, C_i, H / s_i, W / s_i]

    let mut strip = RgbImage::from_pixel(
        (endpoints.len() as u32 + 1) * PANEL,
        PANEL + LABEL,
        Rgb([255, 255, 255]),
    );
    let input = picture
        .resize_to_fill(PANEL, PANEL, FilterType::Triangle)
        .to_rgb8();
    imageops::overlay(&mut strip, &input, 0, i64::from(LABEL));
    draw_text(&mut strip, 4, 6, "input", [0, 0, 0]);
    for ((i, feature), info) in endpoints.into_iter().enumerate().zip(model.feature_info()) {
        let [_, channels, h, w] = feature.dims();
        println!(
            "stride {:>2}: [1, {channels}, {h}, {w}] (stage {}, {} channels)",
            info.stride, info.stage, info.channels
        );
        // Mean |activation| over channels, normalised to 0..1.
        let map: Vec<f32> = feature
            .abs()
            .mean_dim(1)
            .reshape([h * w])
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        let (lo, hi) = map
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let gray = GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let v = map[y as usize * w + x as usize];
            Luma([(255.0 * (v - lo) / (hi - lo).max(1e-12)) as u8])
        });
        let scaled = imageops::resize(&gray, PANEL, PANEL, FilterType::Nearest);
        let x0 = (i as u32 + 1) * PANEL;
        for (x, y, p) in scaled.enumerate_pixels() {
            strip.put_pixel(x0 + x, LABEL + y, ramp(f32::from(p[0]) / 255.0));
        }
        draw_text(
            &mut strip,
            x0 + 4,
            6,
            &format!("/{} {h}x{w}", info.stride),
            [0, 0, 0],
        );
    }
    strip.save(out)?;
    println!("wrote {out}");
    Ok(())
}
