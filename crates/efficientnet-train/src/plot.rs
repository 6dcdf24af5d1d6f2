//! The run's curves as a PNG: one panel per quantity (loss, top-1, learning rate) with a line
//! per split, drawn with the `image` crate and labelled with the public-domain `font8x8`
//! bitmap font. (plotters needs a system font backend for any text, which CI machines lack.)

use std::path::Path;

use font8x8::legacy::BASIC_LEGACY;
use image::{Rgb, RgbImage};

use crate::error::{Result, TrainError};

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Line colour.
    pub colour: [u8; 3],
    /// One value per epoch (epoch 1 first).
    pub values: Vec<f64>,
}

/// One chart.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// Its lines.
    pub series: Vec<Series>,
}

const PANEL_W: u32 = 400;
const PANEL_H: u32 = 300;
const LEFT: u32 = 84;
const RIGHT: u32 = 12;
const TOP: u32 = 44;
const BOTTOM: u32 = 28;
const SCALE: u32 = 2; // 16-px glyphs
const BLACK: [u8; 3] = [0, 0, 0];
const GREY: [u8; 3] = [200, 200, 200];

/// Draws `s` in 16-px glyphs (8x8 doubled; ASCII) with its top-left corner at `(x, y)`,
/// clipped to the image.
pub fn draw_text(img: &mut RgbImage, x: u32, y: u32, s: &str, colour: [u8; 3]) {
    for (i, ch) in s.chars().enumerate() {
        let glyph = BASIC_LEGACY[(ch as usize).min(127)];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        let px = x + (i as u32 * 8 + col) * SCALE + dx;
                        let py = y + row as u32 * SCALE + dy;
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, Rgb(colour));
                        }
                    }
                }
            }
        }
    }
}

/// A line from `(x0, y0)` to `(x1, y1)`, two pixels wide (Bresenham).
fn line(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: [u8; 3]) {
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    loop {
        for (ox, oy) in [(0, 0), (1, 0), (0, 1)] {
            let (px, py) = (x + ox, y + oy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                img.put_pixel(px as u32, py as u32, Rgb(colour));
            }
        }
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

fn label(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.1e}")
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The panel's title and, below it, its series' labels in their colours.
fn draw_header(img: &mut RgbImage, x_off: u32, panel: &Panel) {
    draw_text(img, x_off + LEFT, 4, &panel.title, BLACK);
    let mut legend_x = x_off + LEFT;
    for s in &panel.series {
        draw_text(img, legend_x, 24, &s.label, s.colour);
        legend_x += (s.label.len() as u32 + 1) * 8 * SCALE;
    }
}

fn draw_panel(img: &mut RgbImage, x_off: u32, panel: &Panel) {
    let (x0, y0) = (x_off + LEFT, TOP);
    let (x1, y1) = (x_off + PANEL_W - RIGHT, PANEL_H - BOTTOM);
    draw_header(img, x_off, panel);
    let values: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let epochs = panel
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0);
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    // Frame and the two y labels.
    for x in x0..=x1 {
        img.put_pixel(x, y0, Rgb(GREY));
        img.put_pixel(x, y1, Rgb(BLACK));
    }
    for y in y0..=y1 {
        img.put_pixel(x0, y, Rgb(BLACK));
        img.put_pixel(x1, y, Rgb(GREY));
    }
    // Axis labels use the font at its native 8 px; titles and legends are drawn at SCALE.
    let right_align = |s: &str| (x0 - 4).saturating_sub(s.len() as u32 * 8);
    let (top_label, bottom_label) = (label(hi), label(lo));
    small_text(img, right_align(&top_label), y0, &top_label);
    small_text(img, right_align(&bottom_label), y1 - 8, &bottom_label);
    small_text(img, x0, y1 + 8, "epoch 1");
    if epochs > 1 {
        let last = format!("{epochs}");
        small_text(img, x1 - last.len() as u32 * 8, y1 + 8, &last);
    }
    let to_px = |i: usize, v: f64| -> (i64, i64) {
        let fx = if epochs > 1 {
            i as f64 / (epochs - 1) as f64
        } else {
            0.5
        };
        let fy = (v - lo) / (hi - lo);
        (
            (f64::from(x0) + fx * f64::from(x1 - x0)).round() as i64,
            (f64::from(y1) - fy * f64::from(y1 - y0)).round() as i64,
        )
    };
    for s in &panel.series {
        let points: Vec<(i64, i64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| to_px(i, v))
            .collect();
        for pair in points.windows(2) {
            line(img, pair[0], pair[1], s.colour);
        }
        for &(px, py) in &points {
            line(img, (px - 2, py), (px + 2, py), s.colour);
            line(img, (px, py - 2), (px, py + 2), s.colour);
        }
    }
}

/// 8-px text (the font at its native size).
fn small_text(img: &mut RgbImage, x: u32, y: u32, s: &str) {
    for (i, ch) in s.chars().enumerate() {
        let glyph = BASIC_LEGACY[(ch as usize).min(127)];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                let (px, py) = (x + i as u32 * 8 + col, y + row as u32);
                if bits & (1 << col) != 0 && px < img.width() && py < img.height() {
                    img.put_pixel(px, py, Rgb(BLACK));
                }
            }
        }
    }
}

/// Renders the panels side by side and writes a PNG.
pub fn write_png(path: &Path, panels: &[Panel]) -> Result<()> {
    let width = PANEL_W * panels.len().max(1) as u32;
    let mut img = RgbImage::from_pixel(width, PANEL_H, Rgb([255, 255, 255]));
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut img, i as u32 * PANEL_W, panel);
    }
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| TrainError::io(path, std::io::Error::other(e.to_string())))?;
    efficientnet::fs::write_atomically(path, png.get_ref()).map_err(|e| TrainError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_titles_lines_and_writes_a_png() {
        let panel = |title: &str| Panel {
            title: title.into(),
            series: vec![
                Series {
                    label: "train".into(),
                    colour: [31, 119, 180],
                    values: vec![2.0, 1.5, 1.0],
                },
                Series {
                    label: "valid".into(),
                    colour: [255, 127, 14],
                    values: vec![2.2, f64::NAN, 1.1],
                },
            ],
        };
        let path =
            std::env::temp_dir().join(format!("efficientnet-plot-{}.png", std::process::id()));
        write_png(&path, &[panel("loss"), panel("top-1 %")]).expect("png");
        let img = image::open(&path).expect("decodes").to_rgb8();
        let _ = std::fs::remove_file(&path);
        assert_eq!(img.dimensions(), (800, 300));
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count();
        assert!(count([31, 119, 180]) > 200, "train line drawn");
        assert!(count([255, 127, 14]) > 50, "valid points drawn");
        assert!(count(BLACK) > 500, "frame and text drawn");
    }
}
