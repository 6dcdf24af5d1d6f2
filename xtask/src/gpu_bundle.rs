//! `cargo xtask gpu-bundle`: the GPU check packed to run on a machine with a Vulkan driver and
//! nothing else (no Rust toolchain, no network).
//!
//! The bundle is one folder (default `target/gpu-bundle/`, under [`MAX_BYTES`] so that it can
//! be copied as a whole):
//!
//! ```text
//! run.sh                the check (xtask/gpu-bundle/run.sh): writes gpu-check.json
//! README.md             how to copy and run it (xtask/gpu-bundle/README.md)
//! manifest.json         commit, rustc, features and the size of every file
//! bin/efficientnet.xz   the release CLI with flex, wgpu and vulkan (no `remote`), stripped
//! bin/backend-suite.xz  the `model` test binary of crates/efficientnet (its backend suite)
//! fixtures/             the PyTorch parity cases that suite reads
//! ```
//!
//! `cargo xtask gpu-bundle --check` then runs `run.sh --short` here (Mesa's lavapipe on a
//! machine without a GPU), so the bundle is known good before any GPU time is spent;
//! `cargo xtask gpu-check` builds it and runs the full check on this machine.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::builds::{self, cargo_json, executable};
use crate::parity;

/// The most a bundle may weigh: what the device tool carries to a GPU machine in one go.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Builds the bundle into `out` (replacing an earlier bundle there) and returns its size.
pub fn bundle(cargo: &str, root: &Path, out: &Path) -> Result<u64, String> {
    let cli = builds::release_cli(cargo, root)?;
    let suite = build_suite(cargo, root)?;
    clear(out)?;
    fs::create_dir_all(out.join("bin")).map_err(|e| format!("{}: {e}", out.display()))?;
    let cli_stripped = pack(&cli, &out.join("bin/efficientnet"))?;
    let suite_stripped = pack(&suite, &out.join("bin/backend-suite"))?;
    let stripped = cli_stripped && suite_stripped;
    copy_fixtures(root, &out.join("fixtures"))?;
    for (name, executable) in [("run.sh", true), ("README.md", false)] {
        let target = out.join(name);
        copy(&root.join("xtask/gpu-bundle").join(name), &target)?;
        if executable {
            make_executable(&target)?;
        }
    }
    let manifest = manifest(root, out, stripped)?;
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
    fs::write(out.join("manifest.json"), text).map_err(|e| format!("manifest.json: {e}"))?;
    let size = folder_size(out)?;
    println!(
        "gpu bundle: {} ({:.1} MiB; binaries {})",
        out.display(),
        size as f64 / (1024.0 * 1024.0),
        if stripped {
            "stripped"
        } else {
            "not stripped: no `strip` here"
        }
    );
    if size > MAX_BYTES {
        return Err(format!(
            "the bundle is {size} bytes, over the {MAX_BYTES} it may weigh"
        ));
    }
    Ok(size)
}

/// Runs the bundle's `run.sh` with `args` (from `root`, so Burn's autotune cache lands in
/// this workspace's `target/`); an error when it reports a failure.
pub fn run_bundle(root: &Path, out: &Path, args: &[&str]) -> Result<(), String> {
    let script = out.join("run.sh");
    eprintln!("xtask: running {} {}", script.display(), args.join(" "));
    let status = Command::new("bash")
        .arg(&script)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("could not start {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed with {status}",
            script.display(),
            args.join(" ")
        ))
    }
}

/// The `model` test binary, built as `cargo test --workspace` builds it (so a machine that ran
/// the tests has it already); its path.
fn build_suite(cargo: &str, root: &Path) -> Result<PathBuf, String> {
    let messages = cargo_json(Command::new(cargo).current_dir(root).args([
        "test",
        "--workspace",
        "--no-run",
        "--locked",
    ]))?;
    executable(&messages, "model", true).ok_or_else(|| "cargo built no `model` test binary".into())
}

/// Empties `out` for a new bundle, refusing a non-empty folder that is not one.
fn clear(out: &Path) -> Result<(), String> {
    let Ok(mut entries) = fs::read_dir(out) else {
        return Ok(()); // not there yet
    };
    if entries.next().is_some() && !out.join("manifest.json").is_file() {
        return Err(format!(
            "{} is not empty and holds no bundle (no manifest.json); pick another --out",
            out.display()
        ));
    }
    fs::remove_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))
}

/// Writes `from` without its symbols (`strip`, where there is one) and xz-compressed to
/// `to.xz`, which `run.sh` unpacks: the stripped CLI alone is ~120 MB, ~20 MB packed. Returns
/// whether it was stripped.
fn pack(from: &Path, to: &Path) -> Result<bool, String> {
    let stripped = Command::new("strip")
        .arg("-o")
        .args([to, from])
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !stripped {
        copy(from, to)?;
    }
    make_executable(to)?;
    eprintln!("xtask: compressing {} with xz", to.display());
    let status = Command::new("xz")
        .args(["-T2", "-6", "--force"])
        .arg(to)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| {
            format!(
                "could not start xz ({e}); install it (Debian/Ubuntu: apt-get install xz-utils)"
            )
        })?;
    if !status.success() {
        return Err(format!("xz {} failed with {status}", to.display()));
    }
    Ok(stripped)
}

/// The parity cases of `tests/fixtures/cases.txt` ([`parity::cases`]): each one's
/// [`parity::CASE_FILES`].
fn copy_fixtures(root: &Path, to: &Path) -> Result<(), String> {
    let from = root.join("tests/fixtures");
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for case in parity::cases() {
        for suffix in parity::CASE_FILES {
            let name = format!("{case}.{suffix}");
            copy(&from.join(&name), &to.join(&name))?;
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Sets the owner's execute bit (and everyone's read and execute) on `path`.
fn make_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What the bundle is: the commit, the toolchain, the features and every file's size.
fn manifest(root: &Path, out: &Path, stripped: bool) -> Result<Value, String> {
    let text = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let dirty = text("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    let mut files = serde_json::Map::new();
    for path in files_under(out)? {
        let size = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .strip_prefix(out)
            .unwrap_or(&path)
            .display()
            .to_string();
        files.insert(name, json!(size.len()));
    }
    Ok(json!({
        "commit": text("git", &["rev-parse", "HEAD"]),
        "uncommitted_changes": dirty,
        "built": text("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "rustc": text("rustc", &["--version"]),
        "efficientnet": format!("release build, features {}", builds::release_features()),
        "backend_suite": "crates/efficientnet tests/model, the test profile of `cargo test --workspace`",
        "stripped": stripped,
        "files": files,
    }))
}

/// Every file below `dir`, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Bytes of every file below `dir`.
fn folder_size(dir: &Path) -> Result<u64, String> {
    files_under(dir)?
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests;
