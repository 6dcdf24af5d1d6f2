//! `efficientnet bench`: images/s of inference or of a training step, as the median of timed
//! iterations after warm-up, the process's peak resident memory and, on a GPU backend, the peak
//! of what Burn's device allocator reserved.

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig, momentum::MomentumConfig};
use burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorData};
use clap::{Args, ValueEnum};
use efficientnet::ModelName;
use efficientnet_train::LossScaler;
use efficientnet_train::Precision;
use serde::Serialize;

use crate::error::{CliError, Result};

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
    /// Also time each op class of the fast inference path (stem, 1x1 expand, depthwise, SE,
    /// 1x1 project, head and pool, classifier), in ms per iteration; needs `--fuse` on flex.
    #[arg(long)]
    profile: bool,
    /// Compute precision: f32, or mixed bf16/f16 (f32 weights; in training f32 BatchNorm,
    /// loss and optimizer, and for f16 the loss scaling of `train --precision f16`).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    precision: Precision,
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
    /// Peak of the bytes Burn's allocator reserved on the device, in MiB, sampled after every
    /// iteration (warm-up included); `None` on a backend that does not report it (flex,
    /// ndarray). On a GPU this is the device memory the run needed, as PyTorch's
    /// `torch.cuda.max_memory_reserved`.
    pub peak_device_mib: Option<f64>,
    /// CPU threads available to the process.
    pub threads: usize,
    /// The SIMD instruction set of this crate's flex kernels on this CPU (`avx512`,
    /// `avx2+fma`, `neon`, `baseline`), picked at run time; Burn's matrix products pick theirs
    /// the same way.
    pub simd: &'static str,
    /// With `--profile`: ms per iteration in each op class of the fast path, in network order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Vec<OpTime>>,
}

/// One op class of `--profile`.
#[derive(Debug, Serialize)]
pub struct OpTime {
    /// The class (`stem`, `expand_1x1`, `depthwise`, ...).
    pub op: &'static str,
    /// Milliseconds per timed iteration.
    pub ms: f64,
}

/// Peak resident memory of this process, MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// What [`time`] measured.
struct Timing {
    /// Seconds of each timed iteration, sorted.
    times: Vec<f64>,
    /// The most bytes the device's allocator held after any iteration, where it reports them.
    peak_device_bytes: Option<u64>,
}

/// Runs `step` `warmup + iters` times, each on what the previous one returned (starting from
/// `state`), and returns the timed durations with the device allocator's peak. `step` ends
/// with a device sync, so the allocator is read between iterations, outside the timings.
fn time<S>(
    warmup: usize,
    iters: usize,
    device: &Device,
    mut state: S,
    mut step: impl FnMut(S) -> Result<S>,
) -> Result<Timing> {
    let mut peak = None;
    let sample = |peak: &mut Option<u64>| {
        if let Some(usage) = device.memory_pool_usage() {
            *peak = Some(peak.unwrap_or(0).max(usage.bytes_reserved));
        }
    };
    for _ in 0..warmup {
        state = step(state)?;
        sample(&mut peak);
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let started = Instant::now();
        state = step(state)?;
        times.push(started.elapsed().as_secs_f64());
        sample(&mut peak);
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        times,
        peak_device_bytes: peak,
    })
}

impl BenchArgs {
    /// Whether this times training steps (`--mode train`).
    pub fn trains(&self) -> bool {
        self.mode == Mode::Train
    }

    /// The input side in pixels, once the flags are known to fit together.
    fn resolution(&self) -> Result<usize> {
        if self.batch_size == 0 || self.iters == 0 {
            return Err(usage("--batch-size and --iters must be at least 1"));
        }
        let resolution = self.resolution.unwrap_or(self.model.config().resolution);
        if self.fuse && self.mode == Mode::Train {
            return Err(usage(
                "--fuse is for inference: a fused model has no BatchNorm to train",
            ));
        }
        if self.profile && (!self.fuse || self.mode == Mode::Train) {
            return Err(usage(
                "--profile times the fast inference path: it needs --fuse (and --device flex)",
            ));
        }
        if resolution < 32 {
            return Err(usage(format!(
                "--resolution {resolution} is below 32 pixels"
            )));
        }
        Ok(resolution)
    }

    /// A random batch `[N, 3, side, side]` in `dtype` on `device`.
    fn input(&self, side: usize, dtype: DType, device: &Device) -> Tensor<4> {
        let shape = [self.batch_size, 3, side, side];
        Tensor::<4>::random(shape, Distribution::Default, device).cast(dtype)
    }
}

/// A [`CliError::Usage`].
fn usage(message: impl Into<String>) -> CliError {
    CliError::Usage(message.into())
}

/// Runs `bench`.
pub fn run(args: BenchArgs, device: &Device, device_name: &str) -> Result<()> {
    let resolution = args.resolution()?;
    let precision = args.precision;
    let timing = match args.mode {
        Mode::Infer => time_inference(&args, resolution, precision, device)?,
        Mode::Train => time_training(&args, resolution, precision, device)?,
    };
    let report = BenchReport::new(&args, device_name, precision, resolution, &timing);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.line());
    }
    Ok(())
}

/// Timed forward passes in evaluation mode (the model fused with `--fuse`).
fn time_inference(
    args: &BenchArgs,
    resolution: usize,
    precision: Precision,
    device: &Device,
) -> Result<Timing> {
    let mut model = args.model.config().try_init(device)?;
    if args.fuse {
        model = model.fuse();
    }
    let x = args.input(resolution, precision.dtype(), device);
    if args.profile && !efficientnet::kernels::fast_path_applies(&model, &x) {
        return Err(usage(
            "--profile times the fast inference path, which runs f32 on --device flex only",
        ));
    }
    let mut calls = 0;
    time(args.warmup, args.iters, device, (), |()| {
        if args.profile && calls == args.warmup {
            efficientnet::kernels::profile::start(); // from the first timed iteration
        }
        calls += 1;
        let logits = model.forward(x.clone()); // [n, classes]
        let _ = logits.into_data();
        device.sync()?;
        Ok(())
    })
}

/// The profile summed since the first timed iteration, per iteration.
fn profile(iters: usize) -> Option<Vec<OpTime>> {
    let totals = efficientnet::kernels::profile::take()?;
    let per_iter = |d: std::time::Duration| d.as_secs_f64() * 1e3 / iters as f64;
    Some(
        totals
            .into_iter()
            .map(|(class, total)| OpTime {
                op: class.name(),
                ms: per_iter(total),
            })
            .collect(),
    )
}

/// Timed training steps: forward, cross-entropy, backward (loss-scaled for f16) and an SGD
/// step with momentum 0.9.
fn time_training(
    args: &BenchArgs,
    resolution: usize,
    precision: Precision,
    device: &Device,
) -> Result<Timing> {
    let config = args.model.config();
    let train_device = device.clone().autodiff();
    let model = config.try_init(&train_device)?;
    let mut optim = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .init();
    let x = args.input(resolution, precision.dtype(), &train_device);
    let scaler = (precision == Precision::F16).then(LossScaler::default);
    let y = labels(args.batch_size, config.num_classes, &train_device);
    let ce = CrossEntropyLossConfig::new().init(&train_device);
    time(args.warmup, args.iters, &train_device, model, |net| {
        let logits = net.forward(x.clone()).cast(DType::F32);
        let loss = ce.forward(logits, y.clone());
        let grads = match &scaler {
            Some(scaler) => scaler.backward(loss, &net),
            None => Some(GradientsParams::from_grads(loss.backward(), &net)),
        };
        let net = match grads {
            Some(grads) => optim.step(0.01, net, grads),
            None => net, // overflow: skipped, as in training
        };
        train_device.sync()?;
        Ok(net)
    })
}

/// Labels `0, 1, ..., classes - 1, 0, 1, ...` for a batch of `n`.
fn labels(n: usize, classes: usize, device: &Device) -> Tensor<1, Int> {
    let classes = classes as i64;
    let labels: Vec<i64> = (0..n as i64).map(|i| i % classes).collect();
    Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device)
}

impl BenchReport {
    /// The report of `timing` measured with `args`.
    fn new(
        args: &BenchArgs,
        device_name: &str,
        precision: Precision,
        resolution: usize,
        timing: &Timing,
    ) -> Self {
        let times = &timing.times;
        let median_s = times[times.len() / 2];
        BenchReport {
            model: args.model.to_string(),
            mode: args.mode,
            fused: args.fuse,
            device: device_name.to_owned(),
            precision: precision.name().to_owned(),
            batch_size: args.batch_size,
            resolution,
            iters: args.iters,
            median_s,
            min_s: times[0],
            max_s: times[times.len() - 1],
            images_per_second: args.batch_size as f64 / median_s,
            peak_rss_mib: peak_rss_mib(),
            peak_device_mib: timing
                .peak_device_bytes
                .map(|bytes| bytes as f64 / (1024.0 * 1024.0)),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            simd: efficientnet::kernels::simd_level(),
            profile: if args.profile {
                profile(args.iters)
            } else {
                None
            },
        }
    }

    /// The report as text: one line, then the profile's lines.
    fn line(&self) -> String {
        let mut text = self.summary();
        for op in self.profile.iter().flatten() {
            text.push_str(&format!("\n  {:<20} {:8.2} ms", op.op, op.ms));
        }
        text
    }

    /// The report as one line of text.
    fn summary(&self) -> String {
        format!(
            "{} {}{} {} batch {} at {} px on {}: {:.1} images/s (median {:.1} ms of {}, min {:.1}, max {:.1}), peak RSS {}{}",
            self.model,
            match self.mode {
                Mode::Infer => "inference",
                Mode::Train => "training step",
            },
            if self.fused { " (fused)" } else { "" },
            self.precision,
            self.batch_size,
            self.resolution,
            self.device,
            self.images_per_second,
            self.median_s * 1e3,
            self.iters,
            self.min_s * 1e3,
            self.max_s * 1e3,
            self.peak_rss_mib
                .map_or("n/a".to_owned(), |m| format!("{m:.0} MiB")),
            self.peak_device_mib
                .map_or(String::new(), |m| format!(", device peak {m:.0} MiB"))
        )
    }
}
