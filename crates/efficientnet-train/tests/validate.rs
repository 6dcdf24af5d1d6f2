//! `validate` (what `efficientnet eval` runs) on the committed fixture weights, in both key
//! layouts (timm, lukemelas), over both data layouts (class folders, Kaggle ImageNet).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use efficientnet::preprocess::EvalTransform;
use efficientnet::weights::Pretrained;
use efficientnet::{EfficientNet, ModelName};
use efficientnet_train::data::eval_split;
use efficientnet_train::{ValidateOptions, Validation, validate};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

const CLASSES: usize = 10;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("efficientnet-validate-test-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Image `i` of the split: the two committed photos, then colour gradients of other sizes.
fn image(i: usize) -> DynamicImage {
    match i {
        0 => image::open(fixture("images/chelsea.jpg")).expect("chelsea"),
        1 => image::open(fixture("images/coffee.jpg")).expect("coffee"),
        _ => {
            let (w, h) = (40 + 7 * i as u32, 56 - 3 * i as u32);
            DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
                let k = i as u32 * 23;
                Rgb([
                    ((x * 6 + k) % 256) as u8,
                    ((y * 5 + 2 * k) % 256) as u8,
                    ((x * y + 3 * k) % 256) as u8,
                ])
            }))
        }
    }
}

/// Class `c` holds image `(3 * c) % 10`, so labels and image order differ.
fn image_of_class(c: usize) -> usize {
    (3 * c) % CLASSES
}

/// Writes the split as class folders `DIR/val/class{c}` and as the Kaggle layout (WordNet-like
/// ids in the mapping file, JPEG files named by the solution CSV), returning both roots.
fn write_splits() -> (PathBuf, PathBuf) {
    let folders = scratch("folders");
    let kaggle = scratch("kaggle");
    let val = kaggle.join("ILSVRC/Data/CLS-LOC/val");
    std::fs::create_dir_all(&val).expect("mkdir");
    let mut mapping = String::new();
    let mut solution = String::from("ImageId,PredictionString\n");
    for c in 0..CLASSES {
        let picture = image(image_of_class(c));
        let dir = folders.join("val").join(format!("class{c}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        picture
            .save_with_format(dir.join("a.png"), ImageFormat::Png)
            .expect("png");
        let wnid = format!("n{:08}", 1000 + c);
        mapping.push_str(&format!("{wnid} class{c}, other name\n"));
        solution.push_str(&format!("val_{c:03},{wnid} 1 2 30 40\n"));
        picture
            .save_with_format(val.join(format!("val_{c:03}.JPEG")), ImageFormat::Jpeg)
            .expect("jpeg");
    }
    std::fs::write(kaggle.join("LOC_synset_mapping.txt"), mapping).expect("mapping");
    std::fs::write(kaggle.join("LOC_val_solution.csv"), solution).expect("solution");
    (folders, kaggle)
}

/// Top-1 and top-5 (percent) and mean cross-entropy of `labels` under `logits` ([n, 10]),
/// computed here from the softmax directly.
fn expected(logits: &[Vec<f32>], labels: &[usize]) -> (f64, f64, f64) {
    let mut top1 = 0;
    let mut top5 = 0;
    let mut loss = 0.0;
    for (row, &label) in logits.iter().zip(labels) {
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        top1 += usize::from(order[0] == label);
        top5 += usize::from(order[..5].contains(&label));
        let z: f64 = row.iter().map(|&v| f64::from(v).exp()).sum();
        loss -= (f64::from(row[label]).exp() / z).ln();
    }
    let n = labels.len() as f64;
    (100.0 * top1 as f64 / n, 100.0 * top5 as f64 / n, loss / n)
}

/// The fixture weights `file` opened as `name`, in the fixture's scaled-down config.
fn open_fixture(file: &str, name: &str, width: f64, depth: f64) -> (EfficientNet, EvalTransform) {
    let name: ModelName = name.parse().expect("model name");
    let pretrained = Pretrained::open(fixture(file), name).expect("opens");
    assert_eq!(pretrained.num_classes(), CLASSES);
    let config = pretrained
        .config
        .clone()
        .with_width(width)
        .with_depth(depth);
    let (model, report) = pretrained
        .init_with(&config, &Device::flex(), false)
        .expect("weights fit");
    assert!(report.reinitialized.is_empty(), "{report:?}");
    // Small inputs keep the test quick; the weight set's mean/std and interpolation stay.
    let transform = EvalTransform {
        resize: 48,
        crop: 40,
        ..pretrained.transform().clone()
    };
    (model, transform)
}

fn run(model: &EfficientNet, transform: &EvalTransform, root: &Path) -> Validation {
    let split = eval_split(root).expect("split");
    assert_eq!(split.classes.len(), CLASSES);
    let outputs: Vec<usize> = (0..CLASSES).collect();
    let options = ValidateOptions {
        batch_size: 4,
        workers: 2,
    };
    let mut seen = 0;
    let v = validate(
        (model, transform, &Device::flex()),
        &split.samples,
        (&split.classes, &outputs),
        &options,
        &mut |done| seen = done,
    );
    assert_eq!(seen, CLASSES, "progress reaches the end");
    v
}

#[test]
fn fixtures_in_both_key_layouts_score_both_data_layouts() {
    let (folders, kaggle) = write_splits();
    let fixtures = [
        (
            "tf_lite0.weights.safetensors",
            "tf_efficientnet_lite0",
            0.25,
            1.0,
            0.5,
        ),
        ("lukemelas_b0.weights.safetensors", "b0", 0.35, 0.34, 0.485),
    ];
    for (file, name, width, depth, mean0) in fixtures {
        let (model, transform) = open_fixture(file, name, width, depth);
        assert_eq!(transform.mean[0], mean0, "{file}: the weight set's mean");
        for root in [&folders, &kaggle] {
            // The reference: the model on the same decoded files, one image at a time.
            let split = eval_split(root).expect("split");
            let mut logits = Vec::new();
            let mut labels = Vec::new();
            for sample in &split.samples {
                let efficientnet_train::data::ImageSource::File(path) = &sample.source else {
                    panic!("files expected");
                };
                let picture = image::open(path).expect("decodes");
                let row = model.forward(transform.batch(&[picture], &Device::flex()));
                logits.push(row.into_data().convert::<f32>().iter::<f32>().collect());
                labels.push(sample.label);
            }
            let (top1, top5, loss) = expected(&logits, &labels);
            let v = run(&model, &transform, root);
            let at = root.display();
            assert_eq!(v.images, CLASSES, "{at}");
            assert!(v.unreadable.is_empty(), "{at}: {:?}", v.unreadable);
            assert!(
                (v.top1 - top1).abs() < 1e-9,
                "{file} {at}: top-1 {} vs {top1}",
                v.top1
            );
            assert!(
                (v.top5 - top5).abs() < 1e-9,
                "{file} {at}: top-5 {} vs {top5}",
                v.top5
            );
            assert!(
                (v.loss - loss).abs() < 1e-4,
                "{file} {at}: loss {} vs {loss}",
                v.loss
            );
            assert_eq!(v.per_class.len(), CLASSES);
            assert_eq!(v.per_class[3].class, "class3");
        }
    }
}
