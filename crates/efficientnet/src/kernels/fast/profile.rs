//! Time spent per op class in the fast inference path of fused models, for `efficientnet bench
//! --profile`: off until [`start`], then summed over every forward pass until [`take`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The op classes of the fast path, in network order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpClass {
    /// NCHW input to channels-last activations.
    Layout,
    /// The 3x3 stride-2 stem convolution (+ bias + activation).
    Stem,
    /// 1x1 expansion convolutions of MBConv (+ bias + activation).
    Expand,
    /// Depthwise convolutions (+ bias + activation + the SE mean).
    Depthwise,
    /// Squeeze-and-excitation: the gate from the pooled means, folded into the projection or
    /// applied to the activations.
    SqueezeExcitation,
    /// Fused-MBConv's dense kxk convolutions (+ bias + activation), EfficientNetV2.
    FusedConv,
    /// 1x1 projection convolutions (+ bias + residual).
    Project,
    /// The 1x1 head convolution (+ bias + activation) with the global average pool.
    HeadAndPool,
    /// The linear classifier.
    Classifier,
}

impl OpClass {
    /// Every class, in network order.
    pub const ALL: [OpClass; 9] = [
        OpClass::Layout,
        OpClass::Stem,
        OpClass::Expand,
        OpClass::Depthwise,
        OpClass::SqueezeExcitation,
        OpClass::FusedConv,
        OpClass::Project,
        OpClass::HeadAndPool,
        OpClass::Classifier,
    ];

    /// A short name for tables and JSON (`stem`, `expand_1x1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            OpClass::Layout => "layout",
            OpClass::Stem => "stem",
            OpClass::Expand => "expand_1x1",
            OpClass::Depthwise => "depthwise",
            OpClass::SqueezeExcitation => "squeeze_excitation",
            OpClass::FusedConv => "fused_kxk",
            OpClass::Project => "project_1x1",
            OpClass::HeadAndPool => "head_and_pool",
            OpClass::Classifier => "classifier",
        }
    }
}

/// The sums since [`start`]; `None` while profiling is off.
static TOTALS: Mutex<Option<[Duration; OpClass::ALL.len()]>> = Mutex::new(None);

/// Starts (or restarts) summing the time of every op class.
pub fn start() {
    *lock() = Some(Default::default());
}

/// The time per op class since [`start`], in [`OpClass::ALL`]'s order, and stops profiling;
/// `None` if it was not started.
pub fn take() -> Option<Vec<(OpClass, Duration)>> {
    let totals = lock().take()?;
    Some(OpClass::ALL.into_iter().zip(totals).collect())
}

/// Runs `f`, adding its wall time to `class` while profiling is on.
pub(super) fn timed<R>(class: OpClass, f: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let out = f();
    if let Some(totals) = lock().as_mut() {
        totals[class as usize] += started.elapsed();
    }
    out
}

fn lock() -> std::sync::MutexGuard<'static, Option<[Duration; OpClass::ALL.len()]>> {
    // A panic while holding the lock leaves only durations behind: still usable.
    TOTALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
