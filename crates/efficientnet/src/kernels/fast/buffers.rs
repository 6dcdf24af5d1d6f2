//! Activation buffers of the fast path, kept between forward passes: a buffer is taken for a
//! layer's output and given back once the next layers have read it, so that a forward pass
//! after the first allocates (and zero-fills) none of them. At most [`KEPT`] buffers stay,
//! the largest ones, so the memory held is that of a few activations of the largest input
//! seen.

use std::sync::Mutex;

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{DType, Shape};

/// Buffers kept between passes: an MBConv block holds three activations at a time (its
/// input, the expanded or depthwise output, the block output), plus one spare.
const KEPT: usize = 4;

static POOL: Mutex<Vec<FlexTensor>> = Mutex::new(Vec::new());

/// A contiguous `f32` tensor of shape `[rows, cols]` whose values are unspecified (those of an
/// earlier pass, or zeros when newly allocated). Callers overwrite every value.
pub(super) fn take(rows: usize, cols: usize) -> FlexTensor {
    let len = rows * cols;
    let mut pool = lock();
    // The smallest kept buffer that holds `len` values.
    let best = pool
        .iter()
        .enumerate()
        .filter(|(_, t)| capacity(t) >= len)
        .min_by_key(|(_, t)| capacity(t))
        .map(|(i, _)| i);
    let buffer = match best {
        Some(i) => pool.swap_remove(i),
        None => FlexTensor::empty(Shape::new([len]), DType::F32),
    };
    drop(pool);
    buffer.with_layout(Layout::contiguous(Shape::new([rows, cols])))
}

/// Returns `buffer` to the pool (dropped instead if a view of it is still alive).
pub(super) fn give(buffer: FlexTensor) {
    if !buffer.is_unique() {
        return;
    }
    let mut pool = lock();
    pool.push(buffer);
    if pool.len() > KEPT {
        pool.sort_by_key(|t| std::cmp::Reverse(capacity(t)));
        pool.truncate(KEPT);
    }
}

/// Values the storage of `t` holds (at least those of its shape).
fn capacity(t: &FlexTensor) -> usize {
    t.bytes().len() / size_of::<f32>()
}

fn lock() -> std::sync::MutexGuard<'static, Vec<FlexTensor>> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
