//! Hostile files (`scripts/make_hostile_fixtures.py`): pickles that try to run code, shapes
//! that overflow or claim more data than the file holds, and images whose headers claim more
//! pixels than the limits allow, or that are cut short or damaged. Each is a clear error, with nothing executed or allocated.

use efficientnet::Error;
use efficientnet::preprocess::load_image;
use efficientnet::weights::read_tensors;

use super::parity::fixture;

fn hostile(name: &str) -> std::path::PathBuf {
    fixture(&format!("hostile/{name}"))
}

/// What the evil pickles' `os.system` call would create.
const MARKER: &str = "/tmp/efficientnet-pickle-executed";

#[test]
fn pickles_that_call_code_are_refused_not_executed() {
    let _ = std::fs::remove_file(MARKER);
    for name in ["evil_zip.pth", "evil_legacy.pth"] {
        let err = read_tensors(&hostile(name)).expect_err(name);
        assert!(matches!(err, Error::NotACheckpoint { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    assert!(
        !std::path::Path::new(MARKER).exists(),
        "a pickle ran its payload"
    );
}

#[test]
fn absurd_tensor_shapes_are_refused_before_allocating() {
    for name in [
        "huge_shape.pth",
        "lying_storage.pth",
        "huge_shape.safetensors",
    ] {
        let err = read_tensors(&hostile(name)).expect_err(name);
        assert!(matches!(err, Error::NotACheckpoint { .. }), "{name}: {err}");
    }
}

#[test]
fn images_over_the_size_limits_are_refused_before_decoding() {
    // webp_huge_alloc.webp (found by `cargo xtask fuzz image`): a 12032x14340 lossless WebP
    // header that reports RGB but makes the decoder allocate 4 bytes a pixel (658 MiB).
    for name in ["huge_side.png", "bomb.png", "webp_huge_alloc.webp"] {
        let err = load_image(&hostile(name)).expect_err(name);
        assert!(matches!(err, Error::Image { .. }), "{name}: {err}");
        assert!(err.to_string().contains("limit"), "{name}: {err}");
    }
}

/// Decoders hand back a partial picture (grey or black below the cut) for these; classifying
/// one would score a different image than the file was meant to hold.
#[test]
fn truncated_and_damaged_images_are_refused_not_half_decoded() {
    for name in ["truncated.jpg", "truncated.png", "bad_crc.png"] {
        let err = load_image(&hostile(name)).expect_err(name);
        assert!(matches!(err, Error::Image { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}

/// Found by `cargo xtask fuzz image`: a 9496x1 JPEG took the evaluation resize to a
/// 693,208x73 float image (minutes of work, 600 MB). Extreme aspect ratios are now cropped
/// to 4:1 first, which the center crop never reaches beyond.
#[test]
fn extreme_aspect_ratios_stay_cheap_to_preprocess() {
    use efficientnet::preprocess::EvalTransform;
    let image = load_image(&hostile("wide_9496x1.jpg")).expect("decodes");
    assert_eq!((image.width(), image.height()), (9496, 1));
    let values = EvalTransform::crop_pct(64, 0.875).apply(&image);
    assert_eq!(values.len(), 3 * 64 * 64);
    assert!(values.iter().all(|v| v.is_finite()));
}
