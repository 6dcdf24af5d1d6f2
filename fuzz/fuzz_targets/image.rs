//! Image files (JPEG, PNG, WebP, anything else) decoded and preprocessed as `predict` does.
//! Any input must give `Ok` or `Err`, never a panic, a hang or an unbounded allocation.

#![no_main]

use efficientnet::preprocess::{EvalTransform, load_image};
use libfuzzer_sys::fuzz_target;

#[path = "scratch.rs"]
mod scratch;

fuzz_target!(|data: &[u8]| {
    let path = scratch::file(data, "img");
    if let Ok(image) = load_image(&path) {
        let values = EvalTransform::crop_pct(64, 0.875).apply(&image);
        assert_eq!(values.len(), 3 * 64 * 64);
    }
});
