//! Training runs killed with SIGKILL at random moments, and runs that fill their disk, lose
//! nothing: `--resume` continues from the last complete checkpoint and ends exactly where an
//! uninterrupted run ends.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TINY_TRAIN, bin, scratch, text};
use efficientnet_train::last_checkpoint;

/// Loader settings of both tests' runs.
const DATA: [&str; 4] = ["--synthetic-valid", "48", "--workers", "2"];

/// The kill test's run: 8 epochs of 4 steps, so that kills land in every phase.
const KILLED_RUN: [&str; 4] = ["--synthetic-train", "64", "--epochs", "8"];

/// The full-disk test's run: 3 epochs of 12 steps.
const DISK_RUN: [&str; 4] = ["--synthetic-train", "192", "--epochs", "3"];

/// The command that (re)starts the run in `out`: fresh until a checkpoint exists.
fn start(out: &Path) -> Command {
    let mut cmd = bin();
    if last_checkpoint(out).is_some() {
        cmd.args(["train", "--resume", "--out"]).arg(out);
    } else {
        cmd.args(TINY_TRAIN)
            .args(DATA)
            .args(KILLED_RUN)
            .arg("--out")
            .arg(out);
    }
    cmd
}

/// A small deterministic generator for the kill times (xorshift64*).
struct Xorshift(u64);

impl Xorshift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn metrics(out: &Path) -> String {
    std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv")
}

#[test]
fn twenty_sigkills_in_a_row_then_resume_ends_like_an_uninterrupted_run() {
    let reference = scratch("reference");
    let done = bin()
        .args(TINY_TRAIN)
        .args(DATA)
        .args(KILLED_RUN)
        .arg("--out")
        .arg(&reference)
        .output()
        .expect("runs");
    assert!(done.status.success(), "{}", text(&done.stderr));
    // Kill moments are counted in printed progress lines (about ten per epoch and split),
    // so they spread over start-up, epochs, checkpoint writes and the final export the same
    // way on fast and slow machines.
    let epochs: usize = KILLED_RUN[3].parse().expect("epochs");
    let lines_per_epoch = text(&done.stdout).lines().count() / epochs;

    let out = scratch("killed");
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let (mut kills, mut starts) = (0, Vec::new());
    while kills < 20 {
        assert!(starts.len() < 200, "no progress: {starts:?}");
        let resumed_from = last_checkpoint(&out);
        let expected_start = resumed_from.map_or(1, |e| e + 1);
        starts.push(expected_start);
        let mut child = start(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let target = (rng.unit() * 2.0 * lines_per_epoch as f64) as usize;
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let mut seen = 0;
        let mut ended = false;
        while seen < target {
            let Some(line) = lines.next() else {
                ended = true;
                break;
            };
            // A resumed run starts right after the last complete checkpoint.
            if line.contains("starting at epoch") {
                assert!(
                    line.ends_with(&format!("starting at epoch {expected_start})")),
                    "{line}, expected epoch {expected_start}"
                );
            }
            seen += 1;
        }
        if ended {
            let output = child.wait_with_output().expect("output");
            assert!(
                output.status.success(),
                "a run that was not killed failed: {}",
                text(&output.stderr)
            );
            continue;
        }
        // A little past the line, so that kills also land between prints.
        std::thread::sleep(Duration::from_millis((rng.unit() * 30.0) as u64));
        child.kill().expect("SIGKILL");
        drop(lines);
        let output = child.wait_with_output().expect("reaped");
        if output.status.success() {
            continue; // it finished just before the kill
        }
        // Killed, not failed: a failure would mean a corrupt checkpoint or file.
        assert_eq!(
            output.status.signal(),
            Some(9),
            "run {} failed before the kill: {}",
            starts.len(),
            text(&output.stderr)
        );
        kills += 1;
        // Interrupted writes leave only `.partial` files, never a cut-short checkpoint.
        for entry in std::fs::read_dir(out.join("checkpoint"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                name.ends_with(".bpk") || name.ends_with(".partial"),
                "unexpected {name}"
            );
        }
    }
    let output = start(&out).output().expect("final run");
    assert!(output.status.success(), "{}", text(&output.stderr));
    // The kills interrupted many different epochs, not only the start-up.
    let mut distinct = starts.clone();
    distinct.dedup();
    assert!(distinct.len() >= epochs / 2, "resumed at epochs {starts:?}");
    assert_eq!(
        metrics(&out),
        metrics(&reference),
        "after {kills} kills: {starts:?}"
    );
    eprintln!("{kills} kills; the runs started at epochs {starts:?}");
}

#[test]
fn a_full_disk_is_a_clear_error_and_earlier_checkpoints_survive() {
    // A 4 MiB tmpfs in a private mount namespace holds one epoch's checkpoint (about 2.5 MB)
    // but not two. The run folder is copied out before the namespace (and its tmpfs) ends.
    let mount = scratch("tmpfs");
    std::fs::create_dir_all(&mount).expect("mount point");
    let copy = scratch("full-disk-copy");
    let script = r#"mount -t tmpfs -o size=4m tmpfs "$1" || exit 90
shift; copy="$1"; shift
"$@"; code=$?
cp -r "$MNT_RUN" "$copy"
exit $code"#;
    let output = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&mount)
        .arg(&copy)
        .arg(env!("CARGO_BIN_EXE_efficientnet"))
        .args(TINY_TRAIN)
        .args(DATA)
        .args(DISK_RUN)
        .arg("--out")
        .arg(mount.join("run"))
        .env("MNT_RUN", mount.join("run"))
        .output()
        .expect("unshare (util-linux) runs");
    let stderr = text(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(90),
        "could not mount a tmpfs: {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The earlier checkpoint is complete: the run resumes from it (with disk space) and ends
    // like an uninterrupted run.
    let kept = last_checkpoint(&copy).expect("a checkpoint survived");
    assert!(kept >= 1);
    let resumed = bin()
        .args(["train", "--resume", "--out"])
        .arg(&copy)
        .output()
        .expect("resumes");
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let reference = scratch("full-disk-reference");
    let done = bin()
        .args(TINY_TRAIN)
        .args(DATA)
        .args(DISK_RUN)
        .arg("--out")
        .arg(&reference)
        .output()
        .expect("runs");
    assert!(done.status.success());
    assert_eq!(metrics(&copy), metrics(&reference));
}
