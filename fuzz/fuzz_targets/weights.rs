//! Weight files: PyTorch (zip and legacy pickle), safetensors and burnpack, read and loaded
//! into a small model. Any input must give `Ok` or `Err`, never a panic, a hang or an
//! unbounded allocation.

#![no_main]

use std::sync::OnceLock;

use burn::tensor::Device;
use efficientnet::weights::{self, LoadOptions};
use efficientnet::{EfficientNet, EfficientNetConfig};
use libfuzzer_sys::fuzz_target;

#[path = "scratch.rs"]
mod scratch;

/// A width-0.25 B0 with 10 classes: the model the inputs are loaded into.
fn template() -> EfficientNet {
    static MODEL: OnceLock<EfficientNet> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            EfficientNetConfig::b0()
                .with_width(0.25)
                .with_depth(0.34)
                .with_num_classes(10)
                .init(&Device::flex())
        })
        .clone()
}

/// Burnpack's magic number, as the file starts with it (little-endian "BURN").
const BURNPACK_MAGIC: u32 = 0x4255_524E;

fuzz_target!(|data: &[u8]| {
    // Burnpack is recognised by its extension, the other formats by their content.
    let burnpack = data
        .first_chunk::<4>()
        .is_some_and(|magic| u32::from_le_bytes(*magic) == BURNPACK_MAGIC);
    if burnpack {
        let _ = weights::load_burnpack(template(), &scratch::file(data, "bpk"));
        return;
    }
    if let Ok(tensors) = weights::read_tensors(&scratch::file(data, "pth")) {
        let _ = weights::inspect(&tensors, None);
        let options = LoadOptions::default().with_new_head(true);
        let _ = weights::load_tensors(template(), &tensors, &options);
    }
});
