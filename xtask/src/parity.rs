//! `cargo xtask parity`: regenerate the PyTorch fixtures, run the parity tests, export every
//! fixture case from Rust and load it back in PyTorch with `strict=True`, and run each case's
//! ONNX export in ONNX Runtime against PyTorch's logits.

use std::path::PathBuf;
use std::process::Command;

use crate::process::{root, run};

/// The fixture cases, one name a line (`#` starts a comment); the parity tests and
/// `scripts/make_fixtures.py` read the same file.
const CASES_FILE: &str = include_str!("../../tests/fixtures/cases.txt");

/// The files every case has in `tests/fixtures/`: `{case}.{suffix}` for each suffix here
/// (weights, inputs and outputs, config).
pub const CASE_FILES: [&str; 3] = ["weights.safetensors", "io.safetensors", "json"];

/// The fixture cases of [`CASES_FILE`], in order.
pub fn cases() -> Vec<&'static str> {
    CASES_FILE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Where a run reads fixtures from and writes exports to.
struct Dirs {
    /// The full-size fixtures, or `None` for the committed `tests/fixtures/`.
    fixtures: Option<PathBuf>,
    /// The Rust exports.
    export: PathBuf,
}

impl Dirs {
    fn new(full: bool) -> Self {
        let target = root().join("target");
        if full {
            Dirs {
                fixtures: Some(target.join("fixtures-full")),
                export: target.join("export-full"),
            }
        } else {
            Dirs {
                fixtures: None,
                export: target.join("export"),
            }
        }
    }

    /// Points a test run at the fixture folder (the harness reads it from this variable;
    /// unset: tests/fixtures).
    fn tests_read_fixtures(&self, cmd: &mut Command) {
        if let Some(dir) = &self.fixtures {
            cmd.env("EFFICIENTNET_FIXTURES", dir);
        }
    }
}

/// Runs the parity task.
pub fn parity(cargo: &str, python: &str, no_regenerate: bool, full: bool) -> Result<(), String> {
    let dirs = Dirs::new(full);
    if !no_regenerate {
        let mut cmd = Command::new(python);
        cmd.arg("scripts/make_fixtures.py");
        if let Some(dir) = &dirs.fixtures {
            cmd.arg("--full").arg("--out").arg(dir);
        }
        run(&mut cmd)?;
    }
    let mut tests = Command::new(cargo);
    tests.args(["test", "-p", "efficientnet", "--test", "model", "parity"]);
    dirs.tests_read_fixtures(&mut tests);
    run(&mut tests)?;

    let mut export_cmd = Command::new(cargo);
    export_cmd
        .args(["test", "-p", "efficientnet", "--test", "model"])
        .args(["export_every_case_for_pytorch", "--", "--ignored"])
        .env("EFFICIENTNET_EXPORT_DIR", &dirs.export);
    dirs.tests_read_fixtures(&mut export_cmd);
    run(&mut export_cmd)?;
    for case in cases() {
        check_export(python, &dirs, case)?;
    }
    check_onnx(cargo, python, &dirs)?;
    Ok(())
}

/// `scripts/check_export.py` on the Rust export of `case`.
fn check_export(python: &str, dirs: &Dirs, case: &str) -> Result<(), String> {
    let mut check = Command::new(python);
    check
        .arg("scripts/check_export.py")
        .args(["--case", case, "--weights"])
        .arg(dirs.export.join(format!("{case}.safetensors")));
    if let Some(dir) = &dirs.fixtures {
        check.arg("--full").arg("--fixtures").arg(dir);
    }
    run(&mut check)
}

/// Exports every case to ONNX from Rust and runs the files in ONNX Runtime against PyTorch
/// (`scripts/check_onnx.py`, batch 1 and 3).
fn check_onnx(cargo: &str, python: &str, dirs: &Dirs) -> Result<(), String> {
    let mut export_cmd = Command::new(cargo);
    export_cmd
        .args([
            "test",
            "-p",
            "efficientnet",
            "--features",
            "onnx",
            "--test",
            "model",
        ])
        .args(["export_every_case_for_onnx_runtime", "--", "--ignored"])
        .env("EFFICIENTNET_EXPORT_DIR", &dirs.export);
    dirs.tests_read_fixtures(&mut export_cmd);
    run(&mut export_cmd)?;
    let mut check = Command::new(python);
    check
        .arg("scripts/check_onnx.py")
        .arg("--onnx-dir")
        .arg(&dirs.export);
    if let Some(dir) = &dirs.fixtures {
        check.arg("--full").arg("--fixtures").arg(dir);
    }
    run(&mut check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_list_has_every_fixture() {
        let cases = cases();
        assert!(!cases.is_empty());
        for case in cases {
            for file in CASE_FILES {
                let path = root().join(format!("tests/fixtures/{case}.{file}"));
                assert!(path.is_file(), "{}", path.display());
            }
        }
    }
}
