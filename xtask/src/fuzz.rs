//! `cargo xtask fuzz`: libFuzzer (`cargo fuzz`, nightly) on the weight readers and the image
//! decoder.

use std::process::Command;

use crate::process::{root, run};

/// Seed inputs of each fuzz target, besides its own growing corpus in `fuzz/corpus/<target>`
/// (not committed).
fn fuzz_seeds(target: &str) -> &'static [&'static str] {
    match target {
        "weights" => &["fuzz/seeds/weights", "tests/fixtures/hostile"],
        _ => &["tests/fixtures/images/odd", "tests/fixtures/hostile"],
    }
}

/// Fuzzes `targets` (default: all) for `seconds` each.
pub fn fuzz(seconds: u64, targets: Vec<String>) -> Result<(), String> {
    let targets = if targets.is_empty() {
        vec!["weights".to_owned(), "image".to_owned()]
    } else {
        targets
    };
    for target in &targets {
        let corpus = format!("fuzz/corpus/{target}");
        std::fs::create_dir_all(root().join(&corpus)).map_err(|e| format!("{corpus}: {e}"))?;
        // Release build with debug assertions (overflow checks) and AddressSanitizer; 2 GiB
        // of RSS or a 512 MiB allocation counts as a crash, and so does an input taking 10 s.
        // The rustup proxy (not `$CARGO`, a toolchain's own cargo) understands `+nightly`.
        run(Command::new("cargo")
            .args([
                "+nightly",
                "fuzz",
                "run",
                "--debug-assertions",
                target,
                &corpus,
            ])
            .args(fuzz_seeds(target))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=2048",
                "-malloc_limit_mb=600",
                "-timeout=10",
                "-max_len=65536",
            ]))?;
    }
    eprintln!(
        "xtask: fuzzed {} for {seconds} s each: no crash",
        targets.join(", ")
    );
    Ok(())
}
