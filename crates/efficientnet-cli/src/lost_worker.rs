//! A worker lost in the middle of a run: a clear error instead of a panic.
//!
//! Burn 0.22.1 reports a remote device that stopped answering by panicking in the thread that
//! waits for it (`Failed to read tensor during cross-backend transfer ... RecvError`): the
//! training loop itself, or one of its multi-device worker threads, whose panic Burn turns into
//! the run's error. Either way the run ends; the checkpoints of completed epochs are already on
//! disk, written whole, and `--resume` continues from the newest. [`catch_lost_worker`] turns
//! both into one [`CliError::Remote`] that says so.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{CliError, Result};

/// Runs `train` (a run writing into `out`) and, if a thread panicked and the run failed,
/// returns [`CliError::Remote`] naming the failure, the last complete checkpoint and the
/// `--resume` command (`resume_flags`: the run's `--devices ...`). Panics print no message or
/// backtrace while `train` runs (Burn's experiment log, if its logger is installed, still
/// records them); the first one's message goes into the error.
pub fn catch_lost_worker<T>(
    out: &Path,
    resume_flags: &str,
    train: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let message = Arc::new(Mutex::new(None::<String>));
    let previous = panic::take_hook();
    panic::set_hook(quiet_hook(&message));
    let outcome = panic::catch_unwind(AssertUnwindSafe(train));
    // Back to the hook that was there (Burn's, if it installed one meanwhile, goes too: its
    // only job was this run's log).
    let _ = panic::take_hook();
    panic::set_hook(previous);
    let panicked = message
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match (outcome, panicked) {
        (Ok(Ok(done)), _) => Ok(done),
        (Ok(Err(err)), None) => Err(err),
        (Ok(Err(err)), Some(_)) => Err(lost(out, resume_flags, &one_line(&err.to_string()))),
        (Err(_), message) => Err(lost(
            out,
            resume_flags,
            &message.unwrap_or_else(|| "unknown failure".into()),
        )),
    }
}

/// A hook that keeps the first panic's message in `message` and prints nothing.
fn quiet_hook(
    message: &Arc<Mutex<Option<String>>>,
) -> Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send> {
    let message = Arc::clone(message);
    Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let mut slot = message.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(one_line(&payload));
    })
}

/// `text` with its line breaks and runs of spaces as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error of a run that lost a worker: what failed, what is on disk, how to continue.
fn lost(out: &Path, resume_flags: &str, message: &str) -> CliError {
    let kept = match efficientnet_train::last_checkpoint(out) {
        Some(epoch) => format!(
            "the checkpoint of epoch {epoch} in {} is intact; continue with `efficientnet \
             train --out {} --resume {resume_flags}`",
            out.display(),
            out.display()
        ),
        None => format!(
            "no epoch had completed, so {} holds no checkpoint; start the run again",
            out.display()
        ),
    };
    CliError::Remote(format!(
        "training stopped: a device failed or a worker was lost ({message}); {kept}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_checkpoint_state() {
        let out = std::env::temp_dir().join(format!("efficientnet-lost-{}", std::process::id()));
        let err = catch_lost_worker(&out, "--devices flex,ws://h:1", || -> Result<()> {
            panic!("Failed to read tensor:\n  RecvError(())")
        })
        .expect_err("the panic is an error");
        let text = err.to_string();
        assert!(
            text.contains("(Failed to read tensor: RecvError(()))"),
            "{text}"
        );
        assert!(text.contains("holds no checkpoint"), "{text}");
        let fine = catch_lost_worker(&out, "", || Ok(7)).expect("no panic");
        assert_eq!(fine, 7);
        // A worker thread's panic that the trainer turned into its error.
        let err = catch_lost_worker(&out, "--devices flex,ws://h:1", || -> Result<()> {
            let _ = std::thread::spawn(|| panic!("RecvError")).join();
            Err(CliError::Usage(
                "training worker on device 0 failed:\n RecvError".into(),
            ))
        })
        .expect_err("an error");
        assert!(
            err.to_string()
                .contains("worker was lost (training worker on device 0 failed: RecvError)"),
            "{err}"
        );
        // A plain error stays what it is.
        let err = catch_lost_worker(&out, "", || -> Result<()> {
            Err(CliError::Usage("bad flag".into()))
        })
        .expect_err("an error");
        assert_eq!(err.to_string(), "bad flag");
    }
}
