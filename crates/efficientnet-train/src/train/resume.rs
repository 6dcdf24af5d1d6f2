//! Resuming a run: finding its last loadable checkpoint, refusing a changed configuration, and
//! trimming the logs of an epoch cut short.

use std::path::Path;

use burn::config::Config;

use crate::checkpoint;
use crate::error::{Result, TrainError};
use crate::train::config::TrainConfig;

/// The epoch to continue from: with `resume`, the newest loadable checkpoint of the run in `out`
/// (whose config must match `config`, see [`check_resumable`]), its later logs removed; without,
/// `None`, refusing an `out` that already holds a run.
pub(crate) fn starting_checkpoint(
    config: &TrainConfig,
    out: &Path,
    resume: bool,
) -> Result<Option<usize>> {
    let complete = checkpoint::complete_epochs(&out.join("checkpoint"));
    if !resume {
        if !complete.is_empty() {
            return Err(TrainError::Config(format!(
                "{} already holds a run; pass --resume to continue it or choose another --out",
                out.display()
            )));
        }
        return Ok(None);
    }
    if complete.is_empty() {
        return Err(no_checkpoint(out));
    }
    check_resumable(config, out)?;
    let epoch = resumable_checkpoint(out, &complete)?;
    remove_logs_after(out, epoch)?;
    Ok(Some(epoch))
}

/// The last epoch with all three checkpoint files in `out/checkpoint`, if any.
pub fn last_checkpoint(out: &Path) -> Option<usize> {
    checkpoint::complete_epochs(&out.join("checkpoint"))
        .first()
        .copied()
}

/// The newest of `epochs` (complete checkpoints in `out/checkpoint`, newest first) whose
/// records all load; unreadable newer ones are reported and passed over.
fn resumable_checkpoint(out: &Path, epochs: &[usize]) -> Result<usize> {
    let dir = out.join("checkpoint");
    checkpoint::remove_partial_files(&dir);
    for &epoch in epochs {
        match checkpoint::check_epoch(&dir, epoch) {
            Ok(()) => return Ok(epoch),
            Err(reason) => eprintln!(
                "warning: checkpoint of epoch {epoch} is unreadable ({reason}); trying an older one"
            ),
        }
    }
    Err(no_checkpoint(out))
}

fn no_checkpoint(out: &Path) -> TrainError {
    TrainError::Config(format!(
        "--resume: no complete checkpoint in {}",
        out.join("checkpoint").display()
    ))
}

/// Options a resumed run may change: the length of the run and the loader threads.
const RESUMABLE_CHANGES: [&str; 2] = ["epochs", "num_workers"];

/// Refuses to resume `out` with a config that differs from its `config.json` in anything but
/// [`RESUMABLE_CHANGES`] (the run would not continue the same training).
fn check_resumable(config: &TrainConfig, out: &Path) -> Result<()> {
    let path = out.join("config.json");
    let saved = TrainConfig::load(&path)
        .map_err(|e| TrainError::Config(format!("--resume: {}: {e}", path.display())))?;
    let as_map = |c: &TrainConfig| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (saved, given) = (as_map(&saved), as_map(config));
    let differing: Vec<String> = saved
        .iter()
        .filter(|(key, value)| {
            !RESUMABLE_CHANGES.contains(&key.as_str()) && given.get(*key) != Some(value)
        })
        .map(|(key, value)| {
            let now = given.get(key).map_or("-".to_owned(), ToString::to_string);
            format!("{key} (run: {value}, now: {now})")
        })
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(TrainError::Config(format!(
            "--resume continues the run configured in {}; only {} may change, but these differ: {}",
            path.display(),
            RESUMABLE_CHANGES.join(" and "),
            differing.join(", ")
        )))
    }
}

/// Removes the metric logs of epochs after `epoch` (an epoch cut short by the stop) so the
/// resumed run's logs and `metrics.csv` hold each epoch once.
fn remove_logs_after(out: &Path, epoch: usize) -> Result<()> {
    for split in ["train", "valid"] {
        let dir = out.join(split);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let later = name
                .to_str()
                .and_then(|n| n.strip_prefix("epoch-"))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|e| e > epoch);
            if later {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|e| TrainError::io(&entry.path(), e))?;
            }
        }
    }
    Ok(())
}
