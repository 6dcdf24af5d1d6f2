//! Crash-safe checkpoints: every record is written to a temporary file and renamed into place,
//! so a run killed at any moment leaves only complete checkpoint files, and resuming picks the
//! newest epoch whose three records (model, optimizer, scheduler) all load.

use std::path::{Path, PathBuf};

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use efficientnet::fs::{PARTIAL_SUFFIX, write_atomically};

/// The record kinds of one epoch's checkpoint, as named in `OUT/checkpoint/<kind>-<epoch>.bpk`.
pub const KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Burn's file checkpointer with atomic writes (`<kind>-<epoch>.bpk` in one folder).
pub struct AtomicCheckpointer {
    directory: PathBuf,
    kind: &'static str,
}

impl AtomicCheckpointer {
    /// Checkpoints of `kind` (`model`, `optim` or `scheduler`) in `directory`.
    pub fn new(directory: &Path, kind: &'static str) -> Self {
        Self {
            directory: directory.to_path_buf(),
            kind,
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        record_path(&self.directory, self.kind, epoch)
    }
}

fn record_path(directory: &Path, kind: &str, epoch: usize) -> PathBuf {
    directory.join(format!("{kind}-{epoch}.bpk"))
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        write_atomically(&path, &bytes).map_err(|e| {
            CheckpointerError::IOError(std::io::Error::new(
                e.kind(),
                format!("writing {}: {e}", path.display()),
            ))
        })
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }
}

/// Epochs with all three record files present in `directory`, newest first.
pub fn complete_epochs(directory: &Path) -> Vec<usize> {
    let epochs_of = |kind: &str| -> Vec<usize> {
        let prefix = format!("{kind}-");
        std::fs::read_dir(directory)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix(&prefix)?
                    .strip_suffix(".bpk")?
                    .parse()
                    .ok()
            })
            .collect()
    };
    let (models, optims, scheds) = (
        epochs_of(KINDS[0]),
        epochs_of(KINDS[1]),
        epochs_of(KINDS[2]),
    );
    let mut complete: Vec<usize> = models
        .into_iter()
        .filter(|e| optims.contains(e) && scheds.contains(e))
        .collect();
    complete.sort_unstable_by(|a, b| b.cmp(a));
    complete
}

/// Why the records of `epoch` do not load, if they do not.
pub fn check_epoch(directory: &Path, epoch: usize) -> Result<(), String> {
    let fail = |kind: &str, e: &dyn std::fmt::Display| {
        format!("{}: {e}", record_path(directory, kind, epoch).display())
    };
    ModuleRecord::load(record_path(directory, KINDS[0], epoch)).map_err(|e| fail(KINDS[0], &e))?;
    OptimizerRecord::load(record_path(directory, KINDS[1], epoch))
        .map_err(|e| fail(KINDS[1], &e))?;
    LrSchedulerRecord::load(record_path(directory, KINDS[2], epoch))
        .map_err(|e| fail(KINDS[2], &e))?;
    Ok(())
}

/// Removes `*.partial` files a killed write left in `directory`.
pub fn remove_partial_files(directory: &Path) {
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(PARTIAL_SUFFIX)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
