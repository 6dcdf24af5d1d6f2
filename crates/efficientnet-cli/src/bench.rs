//! `efficientnet bench`: images/s of inference or of a training step, as the median of timed
//! iterations after warm-up, and the process's peak resident memory.

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig, momentum::MomentumConfig};
use burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorData};
use clap::{Args, ValueEnum};
use efficientnet::ModelName;
use efficientnet_train::Precision;
use efficientnet_train::precision::LossScaler;
use serde::Serialize;

use crate::train_cmd::PrecisionArg;

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Forward pass in evaluation mode, no autodiff.
    Infer,
    /// Forward, cross-entropy, backward and an SGD-with-momentum step.
    Train,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model name (timm name or alias).
    #[arg(long, default_value = "efficientnet_b0")]
    model: ModelName,
    /// Images per iteration.
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// Input side in pixels (default: the variant's native resolution).
    #[arg(long)]
    resolution: Option<usize>,
    /// What to time.
    #[arg(long, value_enum, default_value_t = Mode::Infer)]
    mode: Mode,
    /// Untimed iterations first (kernel selection, allocator warm-up).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed iterations; the median is reported.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Inference with every BatchNorm folded into its convolution (`EfficientNet::fuse`).
    #[arg(long)]
    fuse: bool,
    /// Compute precision: f32, or mixed bf16/f16 (f32 weights; in training f32 BatchNorm,
    /// loss and optimizer, and for f16 the loss scaling of `train --precision f16`).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// Print JSON instead of a line.
    #[arg(long)]
    json: bool,
}

/// What `bench` reports.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Model name.
    pub model: String,
    /// `infer` or `train`.
    pub mode: Mode,
    /// Whether BatchNorm was folded into the convolutions (inference only).
    pub fused: bool,
    /// Device, as `--device` spells it.
    pub device: String,
    /// Compute precision (`f32`, `bf16`, `f16`).
    pub precision: String,
    /// Images per iteration.
    pub batch_size: usize,
    /// Input side in pixels.
    pub resolution: usize,
    /// Timed iterations.
    pub iters: usize,
    /// Median seconds per iteration.
    pub median_s: f64,
    /// Fastest and slowest timed iteration, seconds.
    pub min_s: f64,
    /// Slowest timed iteration, seconds.
    pub max_s: f64,
    /// `batch_size / median_s`.
    pub images_per_second: f64,
    /// Peak resident set size of the process in MiB (Linux `VmHWM`), `None` elsewhere.
    pub peak_rss_mib: Option<f64>,
    /// CPU threads available to the process.
    pub threads: usize,
}

/// Peak resident memory of this process, MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs `step` `warmup + iters` times and returns the timed durations in seconds, sorted.
fn time(
    warmup: usize,
    iters: usize,
    mut step: impl FnMut() -> Result<(), String>,
) -> Result<Vec<f64>, String> {
    for _ in 0..warmup {
        step()?;
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let started = Instant::now();
        step()?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// Runs `bench`.
pub fn run(args: BenchArgs, device: &Device, device_name: &str) -> Result<(), String> {
    if args.batch_size == 0 || args.iters == 0 {
        return Err("--batch-size and --iters must be at least 1".into());
    }
    let config = args.model.config();
    let resolution = args.resolution.unwrap_or(config.resolution);
    if args.fuse && args.mode == Mode::Train {
        return Err("--fuse is for inference: a fused model has no BatchNorm to train".into());
    }
    if resolution < 32 {
        return Err(format!("--resolution {resolution} is below 32 pixels"));
    }
    let n = args.batch_size;
    let precision = Precision::from(args.precision);
    let dtype = precision.dtype();
    let sync = |device: &Device| device.sync().map_err(|e| format!("device: {e:?}"));
    let times = match args.mode {
        Mode::Infer => {
            let mut model = config.try_init(device).map_err(|e| e.to_string())?;
            if args.fuse {
                model = model.fuse();
            }
            let x = Tensor::<4>::random(
                [n, 3, resolution, resolution],
                Distribution::Default,
                device,
            )
            .cast(dtype);
            time(args.warmup, args.iters, || {
                let logits = model.forward(x.clone()); // [n, classes]
                let _ = logits.into_data();
                sync(device)
            })?
        }
        Mode::Train => {
            let train_device = device.clone().autodiff();
            let mut model = Some(config.try_init(&train_device).map_err(|e| e.to_string())?);
            let mut optim = SgdConfig::new()
                .with_momentum(Some(MomentumConfig {
                    momentum: 0.9,
                    dampening: 0.0,
                    nesterov: false,
                }))
                .init();
            let x = Tensor::<4>::random(
                [n, 3, resolution, resolution],
                Distribution::Default,
                &train_device,
            )
            .cast(dtype);
            let scaler = (precision == Precision::F16).then(LossScaler::default);
            let classes = config.num_classes as i64;
            let labels: Vec<i64> = (0..n as i64).map(|i| i % classes).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), &train_device);
            let ce = CrossEntropyLossConfig::new().init(&train_device);
            time(args.warmup, args.iters, || {
                let net = model.take().ok_or("model lost in a failed step")?;
                let logits = net.forward(x.clone()).cast(DType::F32);
                let loss = ce.forward(logits, y.clone());
                let grads = match &scaler {
                    Some(scaler) => scaler.backward(loss, &net),
                    None => Some(GradientsParams::from_grads(loss.backward(), &net)),
                };
                model = Some(match grads {
                    Some(grads) => optim.step(0.01, net, grads),
                    None => net, // overflow: skipped, as in training
                });
                sync(&train_device)
            })?
        }
    };
    let median_s = times[times.len() / 2];
    let report = BenchReport {
        model: args.model.to_string(),
        mode: args.mode,
        fused: args.fuse,
        device: device_name.to_owned(),
        precision: precision.name().to_owned(),
        batch_size: n,
        resolution,
        iters: args.iters,
        median_s,
        min_s: times[0],
        max_s: times[times.len() - 1],
        images_per_second: n as f64 / median_s,
        peak_rss_mib: peak_rss_mib(),
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        println!(
            "{} {}{} {} batch {} at {} px on {}: {:.1} images/s (median {:.1} ms of {}, min {:.1}, max {:.1}), peak RSS {}",
            report.model,
            match report.mode {
                Mode::Infer => "inference",
                Mode::Train => "training step",
            },
            if report.fused { " (fused)" } else { "" },
            report.precision,
            n,
            resolution,
            report.device,
            report.images_per_second,
            median_s * 1e3,
            report.iters,
            report.min_s * 1e3,
            report.max_s * 1e3,
            report
                .peak_rss_mib
                .map_or("n/a".to_owned(), |m| format!("{m:.0} MiB"))
        );
    }
    Ok(())
}
