//! The run's random streams: every random draw of a batch (its order, augmentation, the
//! model's dropout) derives from where the batch sits in the run, so runs are reproducible and
//! resumable exactly.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// What a random stream of a batch is for; each gets an independent stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The epoch's permutation of the dataset (batch index 0).
    Shuffle = 1,
    /// Per-sample augmentation and batch mixing on the loader's workers.
    Augment = 2,
    /// The model's own randomness in the training step (dropout, stochastic depth).
    Model = 3,
}

/// Where a batch sits in a run; the seeds of all its random draws derive from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchPosition {
    /// The run's seed.
    pub seed: u64,
    /// Epoch, counted from 1.
    pub epoch: usize,
    /// Batch index within the epoch, from 0.
    pub index: usize,
}

impl BatchPosition {
    /// An independent random stream for `stream` of this batch: ChaCha12 keyed by
    /// (seed, epoch, batch index, stream).
    pub fn rng(&self, stream: Stream) -> StdRng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&(self.epoch as u64).to_le_bytes());
        key[16..24].copy_from_slice(&(self.index as u64).to_le_bytes());
        key[24..].copy_from_slice(&(stream as u64).to_le_bytes());
        StdRng::from_seed(key)
    }

    /// A 64-bit seed for `stream` (e.g. for `Device::seed`).
    pub fn seed_for(&self, stream: Stream) -> u64 {
        self.rng(stream).next_u64()
    }
}
