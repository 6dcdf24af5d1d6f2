//! A reproducible data loader: the order of every epoch and the random draws of every batch are
//! functions of (run seed, epoch, batch index) only, so a run resumed at epoch `k + 1` sees
//! exactly the batches an uninterrupted run sees, whatever the number of worker threads.
//!
//! Burn's own loader keeps one shuffling RNG that advances with every `iter()` and interleaves
//! its workers' batches as they finish; neither survives a restart. This one implements the same
//! [`DataLoader`] trait, so `SupervisedTraining` drives it unchanged (one `iter()` per epoch).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use rand::seq::SliceRandom;

use crate::batcher::{ImageBatch, ImageBatcher};
use crate::dataset::Sample;
use crate::random::{BatchPosition, Stream};

/// Batches each worker may hold decoded ahead of the training loop.
const PREFETCH_PER_WORKER: usize = 2;

/// Loads `samples` in batches through an [`ImageBatcher`] on worker threads, in a fixed order.
///
/// Epoch `e` (the `e`-th call of `iter()`, counted from [`EpochLoader::starting_epoch`]) visits
/// the samples in a permutation drawn from `(seed, e)` (or in dataset order without shuffling);
/// batch `b` of it is augmented with the stream of `BatchPosition { seed, epoch: e, index: b }`.
/// Worker `w` of `n` prepares batches `w, w + n, ...` and the iterator takes them round-robin,
/// so the batches arrive in order.
pub struct EpochLoader {
    samples: Arc<[Sample]>,
    /// Positions of the epoch order served by this loader (all of it unless sliced).
    range: Range<usize>,
    batcher: ImageBatcher,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    num_workers: usize,
    device: Device,
    next_epoch: AtomicUsize,
}

impl EpochLoader {
    /// A loader over `samples` in dataset order, one worker, starting at epoch 1.
    ///
    /// # Panics
    /// If `batch_size` is zero.
    pub fn new(samples: Vec<Sample>, batcher: ImageBatcher, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch size must be at least 1");
        let range = 0..samples.len();
        Self {
            samples: samples.into(),
            range,
            batcher,
            batch_size,
            shuffle: false,
            seed: 0,
            num_workers: 1,
            device: Device::default(),
            next_epoch: AtomicUsize::new(1),
        }
    }

    /// Seed of the per-epoch permutation and of the augmentation draws.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether each epoch visits the samples in a fresh (seeded) permutation.
    pub fn with_shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Worker threads decoding and augmenting (0 = on the caller's thread).
    pub fn with_workers(mut self, num_workers: usize) -> Self {
        self.num_workers = num_workers;
        self
    }

    /// Device the batches are created on.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// The epoch the next `iter()` serves (1 for a new run, `k + 1` when resuming after `k`).
    pub fn starting_epoch(self, epoch: usize) -> Self {
        self.next_epoch.store(epoch, Ordering::SeqCst);
        self
    }

    /// The sample indices epoch `epoch` visits, in order (before slicing).
    pub fn epoch_order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.samples.len()).collect();
        if self.shuffle {
            let position = BatchPosition {
                seed: self.seed,
                epoch,
                index: 0,
            };
            order.shuffle(&mut position.rng(Stream::Shuffle));
        }
        order
    }

    fn copy_with(&self, range: Range<usize>, device: Device) -> Self {
        Self {
            samples: self.samples.clone(),
            range,
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            seed: self.seed,
            num_workers: self.num_workers,
            device,
            next_epoch: AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst)),
        }
    }
}

/// One epoch's work, shared by the workers.
struct EpochPlan {
    samples: Arc<[Sample]>,
    batches: Vec<Vec<usize>>,
    batcher: ImageBatcher,
    device: Device,
    seed: u64,
    epoch: usize,
}

impl EpochPlan {
    fn make(&self, index: usize) -> ImageBatch {
        let items: Vec<Sample> = self.batches[index]
            .iter()
            .map(|&i| self.samples[i].clone())
            .collect();
        let position = BatchPosition {
            seed: self.seed,
            epoch: self.epoch,
            index,
        };
        self.batcher.batch(&items, position, &self.device)
    }

    fn items(&self, index: usize) -> usize {
        self.batches[index].len()
    }
}

impl DataLoader<ImageBatch> for EpochLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ImageBatch> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        let order = self.epoch_order(epoch);
        let plan = Arc::new(EpochPlan {
            samples: self.samples.clone(),
            batches: order[self.range.clone()]
                .chunks(self.batch_size)
                .map(<[usize]>::to_vec)
                .collect(),
            batcher: self.batcher.clone(),
            device: self.device.clone(),
            seed: self.seed,
            epoch,
        });
        let total_items = self.range.len();
        let (receivers, workers) = spawn_workers(&plan, self.num_workers);
        Box::new(EpochIter {
            plan,
            receivers,
            workers,
            next: 0,
            items_done: 0,
            total_items,
        })
    }

    fn num_items(&self) -> usize {
        self.range.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ImageBatch>> {
        Arc::new(self.copy_with(self.range.clone(), device.clone()))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ImageBatch>> {
        let from = self.range.start;
        let range = (from + start).min(self.range.end)..(from + end).min(self.range.end);
        Arc::new(self.copy_with(range, self.device.clone()))
    }
}

fn spawn_workers(
    plan: &Arc<EpochPlan>,
    num_workers: usize,
) -> (Vec<Receiver<ImageBatch>>, Vec<JoinHandle<()>>) {
    let workers = num_workers.min(plan.batches.len());
    (0..workers)
        .map(|w| {
            let (sender, receiver): (SyncSender<ImageBatch>, _) = sync_channel(PREFETCH_PER_WORKER);
            let plan = plan.clone();
            let handle = std::thread::spawn(move || {
                for index in (w..plan.batches.len()).step_by(workers) {
                    // The iterator was dropped (interrupted epoch): stop.
                    if sender.send(plan.make(index)).is_err() {
                        break;
                    }
                }
            });
            (receiver, handle)
        })
        .unzip()
}

/// The batches of one epoch, in order.
struct EpochIter {
    plan: Arc<EpochPlan>,
    receivers: Vec<Receiver<ImageBatch>>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
    items_done: usize,
    total_items: usize,
}

impl Iterator for EpochIter {
    type Item = Result<ImageBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next;
        if index >= self.plan.batches.len() {
            return None;
        }
        self.next += 1;
        let batch = if self.receivers.is_empty() {
            self.plan.make(index)
        } else {
            match self.receivers[index % self.receivers.len()].recv() {
                Ok(batch) => batch,
                Err(_) => {
                    // The worker ended without sending: it panicked.
                    self.next = self.plan.batches.len();
                    return Some(Err(DatasetError::new(std::io::Error::other(format!(
                        "data loader worker {} stopped before batch {index} of epoch {}",
                        index % self.receivers.len(),
                        self.plan.epoch
                    )))));
                }
            }
        };
        self.items_done += self.plan.items(index);
        Some(Ok(batch))
    }
}

impl DataLoaderIterator<ImageBatch> for EpochIter {
    fn progress(&self) -> Progress {
        Progress::new(self.items_done, self.total_items, Some("items".into()))
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        // Closing the channels makes blocked workers stop at their next send.
        self.receivers.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use burn::tensor::Device;

    use super::*;
    use crate::augment::TrainTransform;
    use crate::bad_files::BadFiles;
    use crate::batcher::Mode;
    use crate::dataset::ImageSource;

    fn loader(workers: usize) -> EpochLoader {
        let samples = (0..23)
            .map(|index| Sample {
                source: ImageSource::Synthetic {
                    seed: 5,
                    index,
                    size: 40,
                },
                label: index % 4,
            })
            .collect();
        let batcher = ImageBatcher::new(
            Mode::Train(TrainTransform::new(32, 0.3)),
            Arc::new(BadFiles::default()),
        );
        EpochLoader::new(samples, batcher, 5)
            .with_shuffle(true)
            .with_seed(9)
            .with_workers(workers)
            .with_device(Device::flex())
    }

    /// One epoch as (labels, pixel values, position) per batch.
    fn epoch(loader: &dyn DataLoader<ImageBatch>) -> Vec<(Vec<i64>, Vec<f32>, BatchPosition)> {
        let mut iter = loader.iter();
        let mut batches = Vec::new();
        for batch in iter.by_ref() {
            let batch = batch.expect("batch");
            batches.push((
                batch
                    .targets
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec::<i64>()
                    .expect("labels"),
                batch
                    .images
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("pixels"),
                batch.position,
            ));
        }
        let progress = iter.progress();
        assert_eq!(progress.items_processed, progress.items_total);
        batches
    }

    #[test]
    fn batches_depend_on_seed_and_epoch_only() {
        let (inline, threaded) = (loader(0), loader(3));
        let first = epoch(&inline);
        assert_eq!(first.len(), 5, "23 samples in batches of 5");
        assert_eq!(first[4].0.len(), 3, "a short last batch");
        assert_eq!(first, epoch(&threaded), "epoch 1, any number of workers");
        let second = epoch(&inline);
        assert_ne!(first, second, "each epoch has its own order and draws");
        assert_eq!(second, epoch(&threaded));
        assert_eq!(second[0].2.epoch, 2);
        // A loader resumed at epoch 2 serves epoch 2 first.
        assert_eq!(epoch(&loader(2).starting_epoch(2)), second);
    }

    #[test]
    fn slices_partition_each_epoch() {
        let full = loader(1);
        let order = full.epoch_order(1);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..23).collect::<Vec<_>>(), "a permutation");
        assert_ne!(order, sorted, "shuffled");
        let (a, b) = (full.slice(0, 12), full.slice(12, 23));
        assert_eq!((a.num_items(), b.num_items()), (12, 11));
        let labels = |batches: Vec<(Vec<i64>, Vec<f32>, BatchPosition)>| {
            batches.into_iter().flat_map(|b| b.0).collect::<Vec<_>>()
        };
        let mut both = labels(epoch(&*a));
        both.extend(labels(epoch(&*b)));
        let expected: Vec<i64> = order.iter().map(|&i| (i % 4) as i64).collect();
        assert_eq!(both, expected);
    }

    #[test]
    fn dropping_an_epoch_early_stops_its_workers() {
        let threaded = loader(3);
        let mut iter = threaded.iter();
        assert!(iter.next().is_some());
        drop(iter); // joins the workers; must not hang
        assert_eq!(epoch(&threaded)[0].2.epoch, 2);
    }
}
