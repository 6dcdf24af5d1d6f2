//! The CLI's allocator, mimalloc, and how it is told to keep freed pages while training.

/// mimalloc keeps freed pages for reuse: with the system allocator every activation buffer of a
/// forward or backward pass (megabytes each) was a fresh `mmap`, and page faults plus zeroing
/// took ~25% of a B0 forward on flex (perf, `cargo bench --bench blocks`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option for how long freed memory waits before it goes back to the system
/// (1000 ms by default; `-1`: never), read from the environment once, at process start.
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// Restarts this program in place (`exec`: same process id, arguments and environment) with
/// `MIMALLOC_PURGE_DELAY=-1`, unless the environment already sets it; returns only if it did
/// not restart (already set, not Unix, or the restart failed, which costs speed, not
/// correctness).
///
/// Why: a training step on a CPU takes about a second, longer than mimalloc's purge delay, so
/// without it every activation buffer freed at the end of a step was handed back to the system
/// and faulted in and zeroed again during the next (a fifth of a B0 step in `perf`). The
/// option is read before `main` runs and setting it from inside takes `unsafe` code (which
/// this workspace forbids), so the program sets it for a fresh copy of itself.
pub fn keep_freed_pages() {
    if std::env::var_os(PURGE_DELAY).is_some() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;

        let Ok(program) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(program);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only on failure; the run then goes on with the default delay.
        let _ = command.args(args).env(PURGE_DELAY, "-1").exec();
    }
}
