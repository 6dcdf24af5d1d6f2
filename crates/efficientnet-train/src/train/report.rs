//! What a run leaves in its folder after training: the exported model, `metrics.csv`,
//! `curves.png` and `summary.json`.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::train::LearnerSummary;
use efficientnet::EfficientNet;
use efficientnet::weights;
use serde::{Deserialize, Serialize};

use crate::batcher::ImageBatch;
use crate::classifier::Classifier;
use crate::error::{Result, TrainError};
use crate::plot::{self, Panel, Series};
use crate::precision::Precision;

/// What a run reports in `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// Epochs completed.
    pub epochs: usize,
    /// Validation top-1 (%) after the last epoch.
    pub final_top1: f64,
    /// Validation top-5 (%) after the last epoch.
    pub final_top5: f64,
    /// Best validation top-1 (%) and its epoch.
    pub best_top1: f64,
    /// Epoch of the best top-1.
    pub best_epoch: usize,
    /// Best validation top-5 (%).
    pub best_top5: f64,
    /// Training images per second (whole run, including validation and checkpoints).
    pub images_per_second: f64,
    /// Wall time of this invocation in seconds.
    pub wall_seconds: f64,
    /// Files that could not be decoded and were skipped.
    pub skipped_files: usize,
    /// Validation top-1 (%) of the weight average, when `ema_decay` is set.
    pub ema_top1: Option<f64>,
    /// Where the final model is.
    pub model_file: String,
    /// Devices the training ran on (data parallel when more than one).
    pub devices: usize,
    /// Compute precision.
    pub precision: Precision,
    /// Optimizer steps skipped by f16 loss scaling because a gradient overflowed.
    pub skipped_steps: usize,
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EpochRow {
    epoch: usize,
    train_loss: f64,
    train_top1: f64,
    valid_loss: f64,
    valid_top1: f64,
    valid_top5: f64,
    lr: f64,
}

/// Writes `text` to `path` atomically (see [`efficientnet::fs::write_atomically`]).
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    efficientnet::fs::write_atomically(path, text.as_bytes()).map_err(|e| TrainError::io(path, e))
}

/// Serialises `value` as pretty JSON into `path` (with a final newline when `newline`).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, newline: bool) -> Result<()> {
    let mut json = serde_json::to_string_pretty(value).map_err(|e| TrainError::Serialize {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if newline {
        json.push('\n');
    }
    write_file(path, &json)
}

/// Saves the trained network as `model_file` with `meta` (its config, evaluation transform
/// and the weight set it was fine-tuned from) beside it; with an EMA, the better of the raw
/// and averaged network on `valid` (returning the EMA's top-1).
pub(crate) fn export_model(
    model: &Classifier,
    valid: &Arc<dyn DataLoader<ImageBatch>>,
    meta: &weights::BurnpackMeta,
    model_file: &Path,
) -> Result<Option<f64>> {
    let (exported, ema_top1) = match &model.ema {
        Some(ema) => {
            let raw = top1(&model.net, valid)?;
            let averaged = top1(&ema.net, valid)?;
            println!("validation top-1: raw model {raw:.2}%, EMA {averaged:.2}%");
            let net = if averaged > raw { &ema.net } else { &model.net };
            (net, Some(averaged))
        }
        None => (&model.net, None),
    };
    weights::save_burnpack(exported, model_file)?;
    meta.save(model_file)?;
    Ok(ema_top1)
}

/// Reads the Learner's logs in `out` into per-epoch rows and writes `metrics.csv` and
/// `curves.png` from them.
pub(crate) fn write_metrics(out: &Path, top_k: usize) -> Result<Vec<EpochRow>> {
    let rows = epoch_rows(out, top_k)?;
    write_csv(&out.join("metrics.csv"), &rows)?;
    plot::write_png(&out.join("curves.png"), &panels(&rows))?;
    Ok(rows)
}

impl Summary {
    /// The epoch results of a run whose epochs are `rows` (final and best accuracy); the
    /// run's other facts are left empty for the caller to fill in.
    pub(crate) fn of_epochs(rows: &[EpochRow]) -> Self {
        let last = rows.last().cloned().unwrap_or_default();
        let best = rows
            .iter()
            .max_by(|a, b| a.valid_top1.total_cmp(&b.valid_top1))
            .cloned()
            .unwrap_or_default();
        Summary {
            model: String::new(),
            epochs: rows.len(),
            final_top1: last.valid_top1,
            final_top5: last.valid_top5,
            best_top1: best.valid_top1,
            best_epoch: best.epoch,
            best_top5: rows.iter().map(|r| r.valid_top5).fold(0.0, f64::max),
            images_per_second: 0.0,
            wall_seconds: 0.0,
            skipped_files: 0,
            ema_top1: None,
            model_file: String::new(),
            devices: 0,
            precision: Precision::F32,
            skipped_steps: 0,
        }
    }
}

/// Top-1 accuracy (%) of `net` over a loader.
fn top1(net: &EfficientNet, loader: &Arc<dyn DataLoader<ImageBatch>>) -> Result<f64> {
    let (mut correct, mut total) = (0i64, 0usize);
    for batch in loader.iter() {
        let batch = batch.map_err(|e| TrainError::Data(e.to_string()))?;
        let n = batch.targets.dims()[0];
        let predicted = net.forward(batch.images).argmax(1).reshape([n]);
        correct += predicted
            .equal(batch.targets)
            .int()
            .sum()
            .into_scalar::<i64>();
        total += n;
    }
    Ok(100.0 * correct as f64 / total.max(1) as f64)
}

/// Per-epoch means of the Learner's metric logs.
fn epoch_rows(out: &Path, top_k: usize) -> Result<Vec<EpochRow>> {
    let top_k_name = format!("Top-K Accuracy @ TopK({top_k})");
    let names = ["Loss", "Accuracy", top_k_name.as_str(), "Learning Rate"];
    let summary = LearnerSummary::new(out, &names).map_err(TrainError::Training)?;
    let mut rows: Vec<EpochRow> = (1..=summary.epochs)
        .map(|epoch| EpochRow {
            epoch,
            ..EpochRow::default()
        })
        .collect();
    let mut fill = |metrics: &[burn::train::MetricSummary], valid: bool| {
        for m in metrics {
            for entry in &m.entries {
                let Some(row) = rows.get_mut(entry.step.wrapping_sub(1)) else {
                    continue;
                };
                let v = entry.value;
                let name = if m.name == top_k_name {
                    "top-k"
                } else {
                    m.name.as_str()
                };
                match (name, valid) {
                    ("Loss", false) => row.train_loss = v,
                    ("Accuracy", false) => row.train_top1 = v,
                    ("Learning Rate", false) => row.lr = v,
                    ("Loss", true) => row.valid_loss = v,
                    ("Accuracy", true) => row.valid_top1 = v,
                    ("top-k", true) => row.valid_top5 = v,
                    _ => {}
                }
            }
        }
    };
    fill(&summary.metrics.train, false);
    fill(&summary.metrics.valid, true);
    Ok(rows)
}

/// Loss, top-1 and learning-rate panels of `curves.png`.
fn panels(rows: &[EpochRow]) -> Vec<Panel> {
    let series = |label: &str, colour, f: fn(&EpochRow) -> f64| Series {
        label: label.into(),
        colour,
        values: rows.iter().map(f).collect(),
    };
    let (train, valid) = ([31, 119, 180], [255, 127, 14]);
    vec![
        Panel {
            title: "loss".into(),
            series: vec![
                series("train", train, |r| r.train_loss),
                series("valid", valid, |r| r.valid_loss),
            ],
        },
        Panel {
            title: "top-1 %".into(),
            series: vec![
                series("train", train, |r| r.train_top1),
                series("valid", valid, |r| r.valid_top1),
            ],
        },
        Panel {
            title: "learning rate".into(),
            series: vec![series("mean", train, |r| r.lr)],
        },
    ]
}

fn write_csv(path: &Path, rows: &[EpochRow]) -> Result<()> {
    let mut text =
        String::from("epoch,train_loss,train_top1,valid_loss,valid_top1,valid_top5,lr\n");
    for r in rows {
        text.push_str(&format!(
            "{},{:.6},{:.4},{:.6},{:.4},{:.4},{:.6e}\n",
            r.epoch, r.train_loss, r.train_top1, r.valid_loss, r.valid_top1, r.valid_top5, r.lr
        ));
    }
    write_file(path, &text)
}
