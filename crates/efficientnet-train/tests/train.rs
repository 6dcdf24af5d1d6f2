//! End-to-end training runs on tiny models and generated data (flex backend).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use efficientnet_train::data::{self, ImageSource};
use efficientnet_train::train::last_checkpoint;
use efficientnet_train::{TrainConfig, TrainError, train};
use image::{Rgb, RgbImage};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("efficientnet-train-test-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A width-0.25, depth-0.34 B0 (about 200k parameters) on 32-px synthetic shapes.
fn tiny(epochs: usize) -> TrainConfig {
    TrainConfig::new("b0".into())
        .with_width(Some(0.25))
        .with_depth(Some(0.34))
        .with_epochs(epochs)
        .with_batch_size(16)
        .with_image_size(32)
        // 0.01 diverges now and then on this tiny setup; 0.002 fell in every seed tried (1-4).
        .with_lr(0.002)
        .with_warmup_epochs(0.5)
        .with_min_crop_scale(0.5)
        .with_synthetic_train(192)
        .with_synthetic_valid(48)
        .with_num_workers(1)
}

fn csv_column(out: &Path, column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let index = header.iter().position(|h| *h == column).expect("column");
    lines
        .map(|l| {
            l.split(',')
                .nth(index)
                .expect("field")
                .parse()
                .expect("number")
        })
        .collect()
}

#[test]
fn loss_falls_and_every_artifact_is_written() {
    let out = scratch("loss-falls");
    let summary = train(&tiny(3), &out, &Device::flex(), false).expect("training runs");
    assert_eq!(summary.epochs, 3);
    let loss = csv_column(&out, "train_loss");
    assert_eq!(loss.len(), 3);
    assert!(loss[2] < loss[0], "training loss falls: {loss:?}");
    for file in [
        "config.json",
        "classes.txt",
        "metrics.csv",
        "summary.json",
        "model.bpk",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    assert_eq!(last_checkpoint(&out), Some(3));
    // The saved config reloads.
    let config =
        <TrainConfig as burn::config::Config>::load(out.join("config.json")).expect("config");
    assert_eq!(config.epochs, 3);
    // A second run into the same folder is refused; resuming a finished run is allowed.
    let err = train(&tiny(3), &out, &Device::flex(), false).expect_err("folder in use");
    assert!(err.to_string().contains("--resume"), "{err}");
}

#[test]
fn resume_continues_from_the_last_checkpoint_with_the_schedule() {
    let full = scratch("resume-full");
    train(&tiny(2), &full, &Device::flex(), false).expect("uninterrupted run");
    let part = scratch("resume-part");
    train(&tiny(2).with_epochs(1), &part, &Device::flex(), false).expect("first epoch");
    assert_eq!(last_checkpoint(&part), Some(1));
    let summary = train(&tiny(2), &part, &Device::flex(), true).expect("resumed run");
    assert_eq!(last_checkpoint(&part), Some(2));
    assert_eq!(summary.epochs, 2);
    // The scheduler state was restored: epoch 2 sees the same learning rates.
    let (a, b) = (csv_column(&full, "lr"), csv_column(&part, "lr"));
    assert!(
        (a[1] - b[1]).abs() <= 1e-9 * a[1].abs().max(1.0),
        "lr {a:?} vs {b:?}"
    );
    // Nothing to resume from is a clear error.
    let empty = scratch("resume-empty");
    let err = train(&tiny(1), &empty, &Device::flex(), true).expect_err("no checkpoint");
    assert!(err.to_string().contains("no complete checkpoint"), "{err}");
}

fn write_png(path: &Path, shade: u8) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    RgbImage::from_pixel(40, 36, Rgb([shade, 255 - shade, 128]))
        .save(path)
        .expect("png");
}

#[test]
fn kaggle_layout_loads_with_the_right_labels() {
    let root = scratch("kaggle");
    std::fs::write(
        root.join("LOC_synset_mapping.txt"),
        "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n",
    )
    .expect("mapping");
    for (wnid, n) in [("n01440764", 2), ("n01443537", 3)] {
        for i in 0..n {
            write_png(
                &root.join(format!("ILSVRC/Data/CLS-LOC/train/{wnid}/{wnid}_{i}.JPEG")),
                40 * i as u8,
            );
        }
    }
    std::fs::write(
        root.join("LOC_val_solution.csv"),
        "ImageId,PredictionString\n\
         ILSVRC2012_val_00000001,n01443537 1 2 3 4 n01443537 5 6 7 8\n\
         ILSVRC2012_val_00000002,n01440764 1 2 3 4\n",
    )
    .expect("solution");
    // The PNG-inside-.JPEG case of the real download decodes by content.
    for id in ["00000001", "00000002"] {
        write_png(
            &root.join(format!("ILSVRC/Data/CLS-LOC/val/ILSVRC2012_val_{id}.JPEG")),
            9,
        );
    }
    let splits = data::folder(&root).expect("kaggle layout");
    assert_eq!(splits.classes, ["tench", "goldfish"]);
    let labels = |d: &data::SampleDataset| d.samples().iter().map(|s| s.label).collect::<Vec<_>>();
    assert_eq!(labels(&splits.train), [0, 0, 1, 1, 1]);
    assert_eq!(labels(&splits.valid), [1, 0]);
    let ImageSource::File(first) = &splits.valid.samples()[0].source else {
        panic!("file source");
    };
    assert!(first.ends_with("ILSVRC2012_val_00000001.JPEG"));

    // A validation row naming an unknown class is refused with its line number.
    std::fs::write(
        root.join("LOC_val_solution.csv"),
        "ImageId,PredictionString\nILSVRC2012_val_00000001,n99999999 1 2 3 4\n",
    )
    .expect("solution");
    let err = data::folder(&root).expect_err("unknown class");
    assert!(err.to_string().contains("LOC_val_solution.csv:2"), "{err}");
    assert!(err.to_string().contains("n99999999"), "{err}");
}

#[test]
fn folder_errors_are_clear_and_bad_files_are_skipped() {
    let missing = data::folder(Path::new("/nonexistent/dataset")).expect_err("missing");
    assert!(matches!(missing, TrainError::Data(_)), "{missing}");

    let root = scratch("folders");
    for class in ["cat", "dog"] {
        for i in 0..4u8 {
            write_png(&root.join(format!("train/{class}/{i}.png")), i * 50);
            write_png(&root.join(format!("val/{class}/{i}.png")), i * 50);
        }
    }
    // An empty class folder is an error naming it.
    std::fs::create_dir_all(root.join("train/emu")).expect("dir");
    std::fs::create_dir_all(root.join("val/emu")).expect("dir");
    let err = data::folder(&root).expect_err("empty class");
    assert!(err.to_string().contains("emu"), "{err}");
    std::fs::remove_dir_all(root.join("train/emu")).expect("rm");

    // A corrupt file is skipped and counted, never fatal.
    std::fs::write(
        root.join("train/cat/broken.jpg"),
        b"\xff\xd8\xff not really",
    )
    .expect("write");
    let splits = data::folder(&root).expect("folder layout");
    assert_eq!(splits.classes, ["cat", "dog"]);
    let out = scratch("folders-run");
    let config = tiny(1)
        .with_data(Some(root.display().to_string()))
        .with_batch_size(4);
    let summary =
        train(&config, &out, &Device::flex(), false).expect("trains despite the bad file");
    assert_eq!(summary.skipped_files, 1);
}

#[test]
fn fine_tuning_starts_from_pretrained_weights_with_a_new_head() {
    use efficientnet::EfficientNetConfig;
    use efficientnet::weights::{Layout, Precision, export_safetensors};
    // "Pretrained": a 10-class model of the tiny architecture, saved in timm layout.
    let dir = scratch("finetune");
    let weights = dir.join("pretrained.safetensors");
    let source = EfficientNetConfig::b0()
        .with_width(0.25)
        .with_depth(0.34)
        .with_num_classes(10)
        .init(&Device::flex());
    export_safetensors(&source, Layout::Timm, &weights, Precision::F32).expect("export");
    let config = tiny(1).with_pretrained(Some(weights.display().to_string()));
    let out = dir.join("run");
    let summary = train(&config, &out, &Device::flex(), false).expect("fine-tunes");
    assert_eq!(summary.epochs, 1);

    // Weights of another architecture are refused with the mismatch listed.
    let config = tiny(1)
        .with_width(Some(0.5))
        .with_pretrained(Some(weights.display().to_string()));
    let err = train(&config, &dir.join("run2"), &Device::flex(), false).expect_err("mismatch");
    assert!(
        err.to_string().contains("weights do not fit the model"),
        "{err}"
    );
}

#[test]
fn ema_augmentations_and_mixing_run_and_resume() {
    let out = scratch("ema");
    let config = tiny(2)
        .with_ema_decay(Some(0.99))
        .with_rand_augment(Some("rand-m9-mstd0.5".into()))
        .with_random_erase(0.25)
        .with_mixup(0.2)
        .with_cutmix(1.0);
    let bad = tiny(1).with_rand_augment(Some("rand-m11".into()));
    let err = train(&bad, &scratch("bad-ra"), &Device::flex(), false).expect_err("bad policy");
    assert!(err.to_string().contains("rand-m11"), "{err}");
    train(&config.clone().with_epochs(1), &out, &Device::flex(), false).expect("first epoch");
    let summary = train(&config, &out, &Device::flex(), true).expect("resumed with EMA");
    let ema_top1 = summary.ema_top1.expect("EMA evaluated");
    assert!((0.0..=100.0).contains(&ema_top1));
    assert_eq!(summary.epochs, 2);
}
