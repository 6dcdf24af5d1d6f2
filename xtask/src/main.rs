//! `cargo xtask`: project chores that need more than one cargo invocation.
//!
//! * `cargo xtask ci` — what CI runs (`.ci/run`): fmt check, clippy, the test suite.
//! * `cargo xtask test-slow` — the `#[ignore]`d tests (full-size variants such as B8), which CI skips.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "efficientnet-burn project tasks")]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run exactly what CI runs (`.ci/run`).
    Ci,
    /// Run the slow `#[ignore]`d tests (full-size B8 and friends).
    TestSlow {
        /// Extra arguments for the test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let result = match args.task {
        Task::Ci => run(Command::new("bash").arg(".ci/run")),
        Task::TestSlow { rest } => run(Command::new(cargo)
            .args(["test", "--workspace", "--", "--ignored"])
            .args(rest)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
