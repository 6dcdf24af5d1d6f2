//! Image decoding: colour types, EXIF orientation, formats by content, clear errors.
//! Fixtures: `scripts/make_image_fixtures.py` (a 24x16 grey gradient with a red 4x4 block at
//! the top-left).

use efficientnet::Error;
use efficientnet::preprocess::{EvalTransform, load_image};

use super::parity::fixture;

fn odd(name: &str) -> std::path::PathBuf {
    fixture(&format!("images/odd/{name}"))
}

#[test]
fn every_colour_type_decodes_to_the_displayed_size() {
    for name in [
        "cmyk.jpg",
        "exif_rotate90.jpg",
        "gray.png",
        "gray16.png",
        "rgba.png",
        "palette.png",
        "image.webp",
        "png_named.jpg",
    ] {
        let image = load_image(&odd(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((image.width(), image.height()), (24, 16), "{name}");
        // The transform accepts it and produces finite values.
        let values = EvalTransform::imagenet(16, 16).apply(&image);
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn exif_orientation_is_applied() {
    let image = load_image(&odd("exif_rotate90.jpg"))
        .expect("decodes")
        .to_rgb8();
    let red = |x: u32, y: u32| {
        let p = image.get_pixel(x, y).0;
        p[0] > 200 && p[1] < 80 && p[2] < 80
    };
    assert!(
        red(1, 1),
        "the red block is top-left once rotated for display"
    );
    assert!(!red(1, 14) && !red(22, 1), "and nowhere else");
}

#[test]
fn cmyk_jpeg_keeps_its_colours() {
    let image = load_image(&odd("cmyk.jpg")).expect("decodes").to_rgb8();
    let p = image.get_pixel(1, 1).0;
    assert!(
        p[0] > 200 && p[1] < 80 && p[2] < 80,
        "red corner, got {p:?}"
    );
    let q = image.get_pixel(20, 10).0;
    assert!(
        q[0] > 150 && (i32::from(q[0]) - i32::from(q[2])).abs() < 30,
        "grey, got {q:?}"
    );
}

#[test]
fn broken_files_give_clear_errors() {
    for name in ["truncated.jpg", "not_an_image.jpg"] {
        let err = load_image(&odd(name)).expect_err(name);
        assert!(matches!(err, Error::Image { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = load_image(&odd("missing.jpg")).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err}");
}
