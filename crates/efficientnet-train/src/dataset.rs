//! Datasets: class-per-folder, the Kaggle ImageNet layout and the built-in synthetic shapes,
//! each as train and validation lists of labelled samples (decoded later, by the batcher).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};

use crate::error::{Result, TrainError};
use crate::synthetic;

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A file decoded on a worker thread.
    File(PathBuf),
    /// Image `index` of the synthetic-shapes dataset with `seed`, drawn at `size` pixels.
    Synthetic {
        /// Dataset seed.
        seed: u64,
        /// Image index.
        index: usize,
        /// Side in pixels.
        size: u32,
    },
}

/// One labelled image.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The image.
    pub source: ImageSource,
    /// Class index.
    pub label: usize,
}

/// A labelled split held as a list of samples (images are decoded lazily by the batcher).
#[derive(Clone, Debug)]
pub struct SampleDataset {
    samples: Vec<Sample>,
}

impl SampleDataset {
    /// Wraps a list of samples.
    pub fn new(samples: Vec<Sample>) -> Self {
        Self { samples }
    }

    /// The samples.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}

impl Dataset<Sample> for SampleDataset {
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        self.samples.get(index).cloned().ok_or_else(|| {
            DatasetError::new(std::io::Error::other(format!(
                "sample {index} out of range (dataset of {})",
                self.samples.len()
            )))
        })
    }

    fn len(&self) -> usize {
        self.samples.len()
    }
}

/// Train and validation splits with their class names.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Training samples.
    pub train: SampleDataset,
    /// Validation samples.
    pub valid: SampleDataset,
    /// Class names, index-ordered.
    pub classes: Vec<String>,
}

/// File extensions the decoder reads (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    let mut paths = entries
        .map(|e| e.map(|e| e.path()).map_err(|err| TrainError::io(dir, err)))
        .collect::<Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

/// The synthetic-shapes splits: `train` and `valid` images of `size` pixels.
pub fn synthetic(seed: u64, train: usize, valid: usize, size: u32) -> Splits {
    let split = |seed: u64, n: usize| {
        SampleDataset::new(
            (0..n)
                .map(|index| Sample {
                    source: ImageSource::Synthetic { seed, index, size },
                    label: index % synthetic::CLASSES.len(),
                })
                .collect(),
        )
    };
    Splits {
        train: split(seed, train),
        valid: split(seed.wrapping_add(1_000_003), valid),
        classes: synthetic::CLASSES.iter().map(|c| c.to_string()).collect(),
    }
}

/// Reads `root/<class>/*` for the classes `classes` (label = position), failing on a missing
/// folder or a class folder without images.
fn class_folders(root: &Path, classes: &[String]) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        let images: Vec<PathBuf> = read_dir_sorted(&dir)?
            .into_iter()
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        if images.is_empty() {
            return Err(TrainError::Data(format!(
                "class folder {} holds no images ({})",
                dir.display(),
                IMAGE_EXTENSIONS.join(", ")
            )));
        }
        samples.extend(images.into_iter().map(|p| Sample {
            source: ImageSource::File(p),
            label,
        }));
    }
    Ok(samples)
}

/// A dataset folder: the Kaggle "ImageNet Object Localization Challenge" layout when `root`
/// holds `LOC_synset_mapping.txt`, otherwise `root/train/<class>/*` and `root/val/<class>/*`
/// (classes = sorted folder names of `train`).
pub fn folder(root: &Path) -> Result<Splits> {
    if !root.is_dir() {
        return Err(TrainError::Data(format!(
            "dataset folder {} does not exist",
            root.display()
        )));
    }
    if root.join("LOC_synset_mapping.txt").is_file() {
        return kaggle(root);
    }
    let (train_dir, val_dir) = (root.join("train"), root.join("val"));
    if !train_dir.is_dir() || !val_dir.is_dir() {
        return Err(TrainError::Data(format!(
            "{} must hold train/<class>/ and val/<class>/ folders (or the Kaggle ImageNet layout \
             with LOC_synset_mapping.txt)",
            root.display()
        )));
    }
    let classes = class_names(&train_dir)?;
    Ok(Splits {
        train: SampleDataset::new(class_folders(&train_dir, &classes)?),
        valid: SampleDataset::new(class_folders(&val_dir, &classes)?),
        classes,
    })
}

/// The Kaggle ImageNet layout (`imagenet-object-localization-challenge`): classes from `LOC_synset_mapping.txt` (line order),
/// train images in `ILSVRC/Data/CLS-LOC/train/<wnid>/`, flat validation images in
/// `ILSVRC/Data/CLS-LOC/val/` labelled by the first WordNet id of `LOC_val_solution.csv`.
pub fn kaggle(root: &Path) -> Result<Splits> {
    let (wnids, classes) = kaggle_classes(root)?;
    let train = class_folders(&root.join("ILSVRC/Data/CLS-LOC/train"), &wnids)?;
    let valid = kaggle_val(root, &wnids)?;
    Ok(Splits {
        train: SampleDataset::new(train),
        valid: SampleDataset::new(valid),
        classes,
    })
}

/// A labelled evaluation split: its samples and class names (index-ordered).
#[derive(Clone, Debug)]
pub struct EvalSplit {
    /// The images and their labels.
    pub samples: Vec<Sample>,
    /// Class names, index-ordered: folder names, or the Kaggle layout's first lemma.
    pub classes: Vec<String>,
    /// The folder names when they are ImageNet WordNet ids (`n01440764`, ...): the class
    /// folders of ImageNet's own layout, which carry the ImageNet class index.
    pub wnids: Option<Vec<String>>,
}

/// The validation split of `root` for `efficientnet eval`: the Kaggle layout's validation
/// images when `root` holds `LOC_synset_mapping.txt` (labels = line of the mapping, ImageNet's
/// own order; the train folders need not exist), else the class folders of `root/val`, or of
/// `root` itself.
pub fn eval_split(root: &Path) -> Result<EvalSplit> {
    if !root.is_dir() {
        return Err(TrainError::Data(format!(
            "dataset folder {} does not exist",
            root.display()
        )));
    }
    if root.join("LOC_synset_mapping.txt").is_file() {
        let (wnids, classes) = kaggle_classes(root)?;
        let samples = kaggle_val(root, &wnids)?;
        return Ok(EvalSplit {
            samples,
            classes,
            wnids: Some(wnids),
        });
    }
    let dir = match root.join("val") {
        val if val.is_dir() => val,
        _ => root.to_path_buf(),
    };
    let classes = class_names(&dir)?;
    let samples = class_folders(&dir, &classes)?;
    let is_wnid = |c: &String| {
        c.len() == 9 && c.starts_with('n') && c[1..].bytes().all(|b| b.is_ascii_digit())
    };
    let wnids = classes.iter().all(is_wnid).then(|| classes.clone());
    Ok(EvalSplit {
        samples,
        classes,
        wnids,
    })
}

/// The sorted names of the class folders in `dir` (at least one).
fn class_names(dir: &Path) -> Result<Vec<String>> {
    let classes: Vec<String> = read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    if classes.is_empty() {
        return Err(TrainError::Data(format!(
            "{} has no class folders",
            dir.display()
        )));
    }
    Ok(classes)
}

/// The WordNet ids (line order) and first class names of `root/LOC_synset_mapping.txt`.
fn kaggle_classes(root: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mapping = root.join("LOC_synset_mapping.txt");
    let text = std::fs::read_to_string(&mapping).map_err(|e| TrainError::io(&mapping, e))?;
    let mut wnids = Vec::new();
    let mut classes = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (wnid, names) = line.trim().split_once(' ').ok_or_else(|| {
            TrainError::Data(format!(
                "{}:{}: expected `<wnid> <names>`",
                mapping.display(),
                n + 1
            ))
        })?;
        wnids.push(wnid.to_owned());
        classes.push(names.split(',').next().unwrap_or(names).trim().to_owned());
    }
    if wnids.is_empty() {
        return Err(TrainError::Data(format!(
            "{} lists no classes",
            mapping.display()
        )));
    }
    Ok((wnids, classes))
}

/// The Kaggle layout's validation images (`ILSVRC/Data/CLS-LOC/val/<ImageId>.JPEG`) labelled
/// by the first WordNet id of their `LOC_val_solution.csv` row, as a position in `wnids`.
fn kaggle_val(root: &Path, wnids: &[String]) -> Result<Vec<Sample>> {
    let index: HashMap<&str, usize> = wnids
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_str(), i))
        .collect();
    let val_dir = root.join("ILSVRC/Data/CLS-LOC/val");
    let solution = root.join("LOC_val_solution.csv");
    let text = std::fs::read_to_string(&solution).map_err(|e| TrainError::io(&solution, e))?;
    let mut valid = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad =
            |what: &str| TrainError::Data(format!("{}:{}: {what}", solution.display(), n + 1));
        let (image_id, prediction) = line
            .split_once(',')
            .ok_or_else(|| bad("expected `ImageId,PredictionString`"))?;
        let wnid = prediction
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("empty PredictionString"))?;
        let label = *index.get(wnid).ok_or_else(|| {
            bad(&format!(
                "unknown class `{wnid}` (not in LOC_synset_mapping.txt)"
            ))
        })?;
        valid.push(Sample {
            source: ImageSource::File(val_dir.join(format!("{}.JPEG", image_id.trim()))),
            label,
        });
    }
    if valid.is_empty() {
        return Err(TrainError::Data(format!(
            "{} lists no images",
            solution.display()
        )));
    }
    Ok(valid)
}
