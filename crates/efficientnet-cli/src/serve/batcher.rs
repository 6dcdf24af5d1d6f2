//! Dynamic batching: one inference thread owns the model and runs the queued images through
//! it in batches of up to `max_batch`, waiting at most `max_wait` for a batch to fill.
//!
//! The queue is bounded (`capacity` jobs): a full queue refuses at once rather than growing.
//! A job whose requester has gone (timed out, disconnected) is dropped before it is run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use efficientnet::EfficientNet;
use tokio::sync::oneshot;

use super::metrics::BatcherMetrics;

/// One image's probabilities `[num_classes]`, or why they could not be computed.
pub type Answer = Result<Vec<f32>, String>;

/// One queued image.
pub struct Job {
    /// The preprocessed image, `[3, H, W]` flattened.
    pub input: Vec<f32>,
    /// Where its answer goes.
    pub reply: oneshot::Sender<Answer>,
}

/// What the inference thread is built from.
pub struct Settings {
    /// The model, weights loaded.
    pub model: EfficientNet,
    /// The device it runs on.
    pub device: Device,
    /// The shape of one input, `[3, H, W]`.
    pub input: [usize; 3],
    /// Most images per forward pass.
    pub max_batch: usize,
    /// Longest wait for a batch to fill after its first job.
    pub max_wait: Duration,
    /// Most jobs waiting.
    pub capacity: usize,
    /// Queue depth and batch sizes.
    pub metrics: BatcherMetrics,
}

/// The sending end of the inference queue.
pub struct Queue {
    sender: SyncSender<Job>,
    metrics: BatcherMetrics,
}

/// The queue holds `capacity` jobs already.
#[derive(Debug)]
pub struct Full;

impl Queue {
    /// Queues `job`, or refuses it at once when the queue is full (or the thread has stopped).
    pub fn submit(&self, job: Job) -> Result<(), Full> {
        match self.sender.try_send(job) {
            Ok(()) => {
                self.metrics.queue_depth.inc();
                Ok(())
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Full),
        }
    }
}

/// Starts the inference thread; it runs until every [`Queue`] is dropped.
pub fn spawn(settings: Settings) -> std::io::Result<(Queue, JoinHandle<()>)> {
    let (sender, receiver) = sync_channel(settings.capacity.max(1));
    let queue = Queue {
        sender,
        metrics: settings.metrics.clone(),
    };
    let handle = std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || run(&settings, &receiver))?;
    Ok((queue, handle))
}

/// The thread's loop: a batch at a time until the queue is closed.
fn run(settings: &Settings, receiver: &Receiver<Job>) {
    while let Some(jobs) = next_batch(settings, receiver) {
        settings.metrics.queue_depth.dec_by(jobs.len() as i64);
        let live: Vec<Job> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
        if !live.is_empty() {
            settings.metrics.batch_size.observe(live.len() as f64);
            run_batch(settings, live);
        }
    }
}

/// The next batch: the first job (waiting as long as it takes), then whatever arrives within
/// `max_wait`, up to `max_batch` jobs. `None` once the queue is closed and empty.
fn next_batch(settings: &Settings, receiver: &Receiver<Job>) -> Option<Vec<Job>> {
    let first = receiver.recv().ok()?;
    let deadline = Instant::now() + settings.max_wait;
    let mut jobs = vec![first];
    while jobs.len() < settings.max_batch {
        let left = deadline.saturating_duration_since(Instant::now());
        let next = if left.is_zero() {
            receiver.try_recv().ok()
        } else {
            receiver.recv_timeout(left).ok()
        };
        match next {
            Some(job) => jobs.push(job),
            None => break,
        }
    }
    Some(jobs)
}

/// Runs `jobs` through the model as one batch and answers each; a panic in the forward pass
/// fails this batch's requests, not the server.
fn run_batch(settings: &Settings, jobs: Vec<Job>) {
    let [c, h, w] = settings.input;
    let n = jobs.len();
    let mut values = Vec::with_capacity(n * c * h * w);
    for job in &jobs {
        values.extend_from_slice(&job.input);
    }
    let forward = || {
        let x = Tensor::<4>::from_data(TensorData::new(values, [n, c, h, w]), &settings.device);
        softmax(settings.model.forward(x), 1)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| format!("reading the model's output: {e:?}"))
    };
    let probs = catch_unwind(AssertUnwindSafe(forward))
        .unwrap_or_else(|_| Err("the forward pass failed (panicked)".to_owned()));
    match probs {
        Ok(probs) => {
            let classes = probs.len() / n;
            for (job, row) in jobs.into_iter().zip(probs.chunks(classes)) {
                // A requester that has gone meanwhile just misses its answer.
                let _ = job.reply.send(Ok(row.to_vec()));
            }
        }
        Err(reason) => {
            for job in jobs {
                let _ = job.reply.send(Err(reason.clone()));
            }
        }
    }
}
