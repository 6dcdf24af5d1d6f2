//! `cargo xtask train`: `efficientnet train` built with one backend's Cargo feature, after
//! refusing combinations of backend, devices, options and OS that cannot work.

use std::process::Command;

use crate::backends::{self, BACKENDS, Backend, Platform};
use crate::process::run;

/// The built-in main job: a width-0.25, depth-0.34 B0 (about 200k parameters) on 64-px
/// synthetic shapes, 6 epochs; used for every option the caller does not give when there is
/// no `--data`.
const SYNTHETIC_DEFAULTS: [(&str, &str); 12] = [
    ("--model", "efficientnet_b0"),
    ("--width", "0.25"),
    ("--depth", "0.34"),
    ("--image-size", "64"),
    ("--epochs", "6"),
    ("--batch-size", "32"),
    ("--lr", "0.004"),
    ("--warmup-epochs", "0.5"),
    ("--min-crop-scale", "0.5"),
    ("--synthetic-train", "1920"),
    ("--synthetic-valid", "384"),
    ("--out", "runs/synthetic"),
];

/// The values of `flag` in `args` (`--flag v`, `--flag=v`; comma-separated lists split).
fn flag_values(args: &[String], flag: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = if arg == flag {
            iter.next().cloned()
        } else {
            arg.strip_prefix(&format!("{flag}=")).map(str::to_owned)
        };
        if let Some(value) = value {
            values.extend(value.split(',').map(|v| v.trim().to_owned()));
        }
    }
    values
}

/// Refuses a backend with devices, options or an OS it cannot serve, with what to do instead;
/// returns the backend's entry in the table.
pub fn check_combination(backend: &str, rest: &[String]) -> Result<&'static Backend, String> {
    let Some(chosen) = backends::named(backend) else {
        let names: Vec<&str> = BACKENDS.iter().map(|b| b.name).collect();
        return Err(format!(
            "unknown backend `{backend}`; choose one of {}",
            names.join(", ")
        ));
    };
    check_platform(chosen)?;
    check_devices(chosen, rest)?;
    if rest.iter().any(|a| a == "--ddp") && !chosen.ddp {
        let ddp: Vec<String> = BACKENDS
            .iter()
            .filter(|b| b.ddp)
            .map(|b| b.name.to_owned())
            .collect();
        return Err(format!(
            "--ddp (DistributedDataParallel) needs --backend {}: Burn all-reduces with NCCL \
             only; on {backend}, --devices alone trains data parallel",
            backends::either(&ddp)
        ));
    }
    Ok(chosen)
}

/// Refuses a backend this operating system has not.
fn check_platform(backend: &Backend) -> Result<(), String> {
    let on_macos = cfg!(target_os = "macos");
    match backend.platform {
        Platform::MacOsOnly { instead } if !on_macos => Err(format!(
            "--backend {} needs macOS; use {instead} here",
            backend.name
        )),
        Platform::NotMacOs { instead } if on_macos => Err(format!(
            "--backend {}: macOS has no {}; use {instead}",
            backend.name, backend.title
        )),
        _ => Ok(()),
    }
}

/// Refuses `--device`/`--devices` of a backend a build with `backend`'s feature lacks.
fn check_devices(backend: &Backend, rest: &[String]) -> Result<(), String> {
    for device in flag_values(rest, "--device")
        .into_iter()
        .chain(flag_values(rest, "--devices"))
    {
        let kind = device
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let kind = backends::for_device(&kind).map_or(kind, |b| b.name.to_owned());
        if kind != backend.name && !backend.implies.contains(&kind.as_str()) {
            return Err(format!(
                "device `{device}` needs `--backend {kind}`, but this build is `--backend {}`",
                backend.name
            ));
        }
    }
    Ok(())
}

/// The options xtask fills in for `efficientnet train` when `rest` does not give them: the
/// output folder, and without `--data` the synthetic main job.
fn default_args(rest: &[String]) -> Vec<String> {
    let given = |flag: &str| {
        rest.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let out = |dir: &str| ["--out".to_owned(), dir.to_owned()];
    if given("--resume") {
        // The run's options come from its config.json; only the folder is filled in.
        if given("--out") {
            vec![]
        } else {
            out("runs/synthetic").to_vec()
        }
    } else if given("--data") {
        if given("--out") {
            vec![]
        } else {
            out("runs/train").to_vec()
        }
    } else {
        SYNTHETIC_DEFAULTS
            .iter()
            .filter(|(flag, _)| !given(flag))
            .flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()])
            .collect()
    }
}

/// Runs `efficientnet train` built with `backend`'s feature, `rest` passed through.
pub fn train(cargo: &str, backend: &str, rest: Vec<String>) -> Result<(), String> {
    let backend = check_combination(backend, &rest)?;
    if backend.downloads_llvm {
        eprintln!(
            "xtask: note: Burn's {} backend downloads an LLVM bundle from GitHub while it builds",
            backend.title
        );
    }
    let args = default_args(&rest);
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "-p", "efficientnet-cli"]);
    if !backend.default_feature {
        let features = format!("{},remote", backend.feature);
        cmd.args(["--no-default-features", "--features", &features]);
    }
    cmd.arg("--");
    if flag_values(&rest, "--device").is_empty() {
        cmd.args(["--device", backend.name]);
    }
    cmd.arg("train").args(args).args(rest);
    run(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_or_mismatched_combinations_are_refused() {
        assert!(check_combination("flex", &[]).is_ok());
        assert!(
            check_combination("tpu", &[])
                .expect_err("refused")
                .contains("unknown backend")
        );
        let err =
            check_combination("flex", &args(&["--devices", "cuda:0,cuda:1"])).expect_err("refused");
        assert!(err.contains("needs `--backend cuda`"), "{err}");
        assert!(check_combination("vulkan", &args(&["--devices=wgpu:0,vulkan:1"])).is_ok());
        assert!(check_combination("flex", &args(&["--devices", "flex,cpu"])).is_ok());
        let err = check_combination("wgpu", &args(&["--devices", "wgpu:0,wgpu:1", "--ddp"]));
        assert!(err.expect_err("refused").contains("NCCL"));
        if !cfg!(target_os = "macos") {
            assert!(
                check_combination("metal", &[])
                    .expect_err("refused")
                    .contains("macOS")
            );
        }
    }

    #[test]
    fn messages_read_as_before() {
        let err = check_combination("tpu", &[]).expect_err("refused");
        assert_eq!(
            err,
            "unknown backend `tpu`; choose one of flex, ndarray, wgpu, vulkan, metal, cuda"
        );
        let err = check_combination("flex", &args(&["--ddp"])).expect_err("refused");
        assert_eq!(
            err,
            "--ddp (DistributedDataParallel) needs --backend cuda: Burn all-reduces with NCCL \
             only; on flex, --devices alone trains data parallel"
        );
        let err = check_combination("flex", &args(&["--device=TPU:0"])).expect_err("refused");
        assert_eq!(
            err,
            "device `TPU:0` needs `--backend tpu`, but this build is `--backend flex`"
        );
        if !cfg!(target_os = "macos") {
            let err = check_combination("metal", &[]).expect_err("refused");
            assert_eq!(err, "--backend metal needs macOS; use wgpu or vulkan here");
        }
    }

    #[test]
    fn defaults_fill_only_what_is_not_given() {
        assert_eq!(
            default_args(&args(&["--resume"])),
            args(&["--out", "runs/synthetic"])
        );
        assert!(default_args(&args(&["--data", "d", "--out=o"])).is_empty());
        let synthetic = default_args(&args(&["--epochs", "2"]));
        assert_eq!(synthetic.len(), 2 * (SYNTHETIC_DEFAULTS.len() - 1));
        assert!(!synthetic.contains(&"--epochs".to_owned()));
    }
}
