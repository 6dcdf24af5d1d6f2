//! Weight files: clear errors for wrong files, export round trips, partial loads.

use std::path::PathBuf;

use burn::tensor::Tensor;
use efficientnet::weights::{
    Layout, LoadOptions, Precision, export_safetensors, load_burnpack, load_weights, read_tensors,
    save_burnpack,
};
use efficientnet::{EfficientNet, EfficientNetConfig, Error};

use super::parity::fixture;
use super::{device, images};

fn tv_b0_config() -> EfficientNetConfig {
    EfficientNetConfig::b0()
        .with_width(0.25)
        .with_depth(0.34)
        .with_num_classes(10)
}

/// The tv_b0 architecture with the weights of `path` (strict load).
fn tv_b0_from(path: &std::path::Path) -> EfficientNet {
    load_weights(
        tv_b0_config().init(&device()),
        path,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    .0
}

fn tv_b0() -> EfficientNet {
    tv_b0_from(&fixture("tv_b0.weights.safetensors"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("efficientnet-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn same_outputs(a: &EfficientNet, b: &EfficientNet) {
    let x = images([1, 3, 48, 64], &device());
    a.forward(x.clone())
        .into_data()
        .assert_eq(&b.forward(x).into_data(), true);
}

#[test]
fn weights_of_another_variant_are_listed_in_one_error() {
    let full_b0 = EfficientNetConfig::b0().init(&device());
    let err = load_weights(
        full_b0,
        fixture("tv_b0.weights.safetensors"),
        &LoadOptions::default(),
    )
    .expect_err("a reduced-width file does not fit full B0");
    let Error::WeightMismatch { path, mismatch } = &err else {
        panic!("unexpected error {err}");
    };
    assert!(
        path.as_ref()
            .is_some_and(|p| p.ends_with("tv_b0.weights.safetensors"))
    );
    assert!(!mismatch.mis_shaped.is_empty());
    // B0 has more blocks than the depth-0.34 file: the extra ones are missing.
    assert!(
        mismatch
            .missing
            .iter()
            .any(|k| k.starts_with("features.2.1."))
    );
    let text = err.to_string();
    assert!(
        text.contains("features.0.0.weight: model [32, 3, 3, 3], file [8, 3, 3, 3]"),
        "{text}"
    );
    assert!(text.contains("missing from the file"), "{text}");
}

#[test]
fn truncated_and_foreign_files_are_refused() {
    let bytes = std::fs::read(fixture("tv_b0.weights.safetensors")).expect("fixture");
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let zip = std::fs::read(fixture("tv_b0_wrapped.pth")).expect("fixture");
    let truncated_zip = scratch("truncated.pth");
    std::fs::write(&truncated_zip, &zip[..zip.len() / 3]).expect("write");
    let text = scratch("notes.pth");
    std::fs::write(&text, "these are not weights\n").expect("write");
    let empty = scratch("empty.safetensors");
    std::fs::write(&empty, b"").expect("write");
    let image = fixture("images/chelsea.jpg");

    for path in [truncated, truncated_zip, text, empty, image] {
        let model = tv_b0_config().init(&device());
        let err = load_weights(model, &path, &LoadOptions::default())
            .expect_err("not a usable checkpoint");
        assert!(
            matches!(err, Error::NotACheckpoint { .. }),
            "{}: {err}",
            path.display()
        );
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    }
    let missing = load_weights(
        tv_b0_config().init(&device()),
        scratch("does-not-exist.pth"),
        &LoadOptions::default(),
    )
    .expect_err("missing file");
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}

#[test]
fn a_forced_wrong_layout_names_the_missing_keys() {
    let model = tv_b0_config().init(&device());
    let options = LoadOptions::default().with_layout(Some(Layout::Timm));
    let err = load_weights(model, fixture("tv_b0.weights.safetensors"), &options)
        .expect_err("torchvision keys read as timm");
    let text = err.to_string();
    assert!(
        text.contains("conv_stem.weight") && text.contains("unexpected"),
        "{text}"
    );
}

#[test]
fn export_matches_the_pytorch_state_dict_and_round_trips() {
    let model = tv_b0();
    let original = read_tensors(&fixture("tv_b0.weights.safetensors")).expect("fixture");
    for layout in [Layout::Torchvision, Layout::Timm, Layout::Lukemelas] {
        let out = scratch(&format!("tv_b0.{layout}.safetensors"));
        export_safetensors(&model, layout, &out, Precision::F32).expect("export");
        let exported = read_tensors(&out).expect("read back");
        if layout == Layout::Torchvision {
            // Same keys (num_batches_tracked included), shapes and values as PyTorch's own file.
            assert_eq!(
                exported.keys().collect::<Vec<_>>(),
                original.keys().collect::<Vec<_>>()
            );
            for (key, t) in &original {
                assert_eq!(exported[key].shape, t.shape, "{key}");
                assert_eq!(exported[key].values, t.values, "{key}");
            }
        }
        // Import -> export -> import is the identity.
        let back = tv_b0_from(&out);
        same_outputs(&model, &back);
    }
}

#[test]
fn half_precision_export_keeps_batchnorm_in_f32() {
    let model = tv_b0();
    let out = scratch("tv_b0.f16.safetensors");
    export_safetensors(&model, Layout::Timm, &out, Precision::F16).expect("export");
    let exported = read_tensors(&out).expect("read back");
    assert_eq!(exported["conv_stem.weight"].dtype, "F16");
    assert_eq!(exported["bn1.running_var"].dtype, "F32");
    assert_eq!(exported["bn1.num_batches_tracked"].dtype, "I64");
    // The fixture weights are f16-representable, so the round trip is exact.
    let back = tv_b0_from(&out);
    same_outputs(&model, &back);
}

#[test]
fn burnpack_round_trip() {
    let model = tv_b0();
    let path = scratch("tv_b0.bpk");
    save_burnpack(&model, &path).expect("save");
    let back = load_burnpack(tv_b0_config().init(&device()), &path)
        .expect("load")
        .0;
    same_outputs(&model, &back);
    let back = tv_b0_from(&path);
    same_outputs(&model, &back);
}

/// A loaded model owns its weights: removing or replacing the file afterwards (a checkpoint
/// rewritten by the next epoch) changes nothing.
#[test]
fn a_burnpack_is_read_whole_at_load() {
    let model = tv_b0();
    let path = scratch("read-whole.bpk");
    save_burnpack(&model, &path).expect("save");
    let loaded = load_burnpack(tv_b0_config().init(&device()), &path)
        .expect("load")
        .0;
    let other = tv_b0_config().init(&device());
    save_burnpack(&other, &path).expect("replace");
    same_outputs(&model, &loaded);
    let loaded = load_burnpack(tv_b0_config().init(&device()), &path)
        .expect("load")
        .0;
    std::fs::remove_file(&path).expect("remove");
    same_outputs(&other, &loaded);
}

#[test]
fn partial_load_keeps_the_backbone_and_a_new_head() {
    let reference = tv_b0();
    let model = tv_b0_config().with_num_classes(3).init(&device());
    let strict = load_weights(
        model.clone(),
        fixture("tv_b0.weights.safetensors"),
        &LoadOptions::default(),
    );
    assert!(strict.is_err(), "strict load refuses another head size");
    let (model, report) = load_weights(
        model,
        fixture("tv_b0.weights.safetensors"),
        &LoadOptions::default().with_new_head(true),
    )
    .expect("partial load");
    assert_eq!(
        report.reinitialized,
        ["classifier.weight", "classifier.bias"]
    );
    assert_eq!(model.num_classes(), 3);
    let x: Tensor<4> = images([1, 3, 48, 64], &device());
    model
        .forward_backbone(x.clone())
        .into_data()
        .assert_eq(&reference.forward_backbone(x).into_data(), true);
}
