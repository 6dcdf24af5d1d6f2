//! The backends `efficientnet-cli` can be built with, as one table of plain data.
//!
//! Two crates read it: the CLI (`--device`, in `device.rs`) and `cargo xtask` (`train
//! --backend`, `gpu-check`), which includes this file with `#[path]`. So it holds data only: no
//! dependencies, no `cfg`. Which backends a binary holds is decided in `device.rs`, by the Cargo
//! features named here.

// Each crate that includes this file uses a part of it.
#![allow(dead_code)]

/// Which backend a table entry is: what `device.rs` ties to Burn's device constructors.
/// The discriminants are the entries' positions in [`BACKENDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Burn's pure-Rust CPU backend.
    Flex,
    /// The ndarray CPU backend.
    Ndarray,
    /// wgpu on the platform's default graphics API.
    Wgpu,
    /// wgpu on Vulkan.
    Vulkan,
    /// wgpu on Metal.
    Metal,
    /// CUDA.
    Cuda,
}

/// The operating systems a backend runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Every one with the hardware and driver.
    Any,
    /// macOS only; elsewhere use `instead`.
    MacOsOnly {
        /// What to use elsewhere.
        instead: &'static str,
    },
    /// Everywhere but macOS; there use `instead`.
    NotMacOs {
        /// What to use on macOS.
        instead: &'static str,
    },
}

/// One backend and what is true of it.
#[derive(Debug, PartialEq, Eq)]
pub struct Backend {
    /// Which one it is.
    pub kind: Kind,
    /// As `--device` and `cargo xtask train --backend` spell it.
    pub name: &'static str,
    /// Its name in prose.
    pub title: &'static str,
    /// Other names `--device` accepts for it.
    pub aliases: &'static [&'static str],
    /// The Cargo feature of efficientnet-cli that compiles it in.
    pub feature: &'static str,
    /// Whether that feature is one of efficientnet-cli's default features.
    pub default_feature: bool,
    /// Whether `--device` takes a device index (`cuda:1`).
    pub takes_index: bool,
    /// Whether Burn's DistributedDataParallel works on it: Burn all-reduces with NCCL only,
    /// so CUDA only.
    pub ddp: bool,
    /// Whether building it downloads an LLVM bundle from GitHub (Burn's CUDA backend does, as
    /// does Burn's `cpu` backend, which this crate does not compile in).
    pub downloads_llvm: bool,
    /// Other backends whose devices `cargo xtask train` lets a build with this feature take
    /// (Vulkan and Metal are wgpu runtimes).
    pub implies: &'static [&'static str],
    /// The operating systems it runs on.
    pub platform: Platform,
    /// Rank when `--device` is not given: the compiled-in backend of the lowest rank runs.
    pub preference: u8,
}

impl Backend {
    /// How `--device` spells it: `flex`, or `cuda[:i]` for one that takes an index.
    pub fn spelling(&self) -> String {
        if self.takes_index {
            format!("{}[:i]", self.name)
        } else {
            self.name.to_owned()
        }
    }
}

/// Every backend, in the order the docs and messages list them.
pub const BACKENDS: &[Backend] = &[
    Backend {
        kind: Kind::Flex,
        name: "flex",
        title: "flex",
        aliases: &["cpu"],
        feature: "flex",
        default_feature: true,
        takes_index: false,
        ddp: false,
        downloads_llvm: false,
        implies: &[],
        platform: Platform::Any,
        preference: 4,
    },
    Backend {
        kind: Kind::Ndarray,
        name: "ndarray",
        title: "ndarray",
        aliases: &[],
        feature: "ndarray",
        default_feature: false,
        takes_index: false,
        ddp: false,
        downloads_llvm: false,
        implies: &[],
        platform: Platform::Any,
        preference: 5,
    },
    Backend {
        kind: Kind::Wgpu,
        name: "wgpu",
        title: "wgpu",
        aliases: &[],
        feature: "wgpu",
        default_feature: false,
        takes_index: true,
        ddp: false,
        downloads_llvm: false,
        implies: &[],
        platform: Platform::Any,
        preference: 3,
    },
    Backend {
        kind: Kind::Vulkan,
        name: "vulkan",
        title: "Vulkan",
        aliases: &[],
        feature: "vulkan",
        default_feature: false,
        takes_index: true,
        ddp: false,
        downloads_llvm: false,
        implies: &["wgpu"],
        platform: Platform::Any,
        preference: 2,
    },
    Backend {
        kind: Kind::Metal,
        name: "metal",
        title: "Metal",
        aliases: &[],
        feature: "metal",
        default_feature: false,
        takes_index: true,
        ddp: false,
        downloads_llvm: false,
        implies: &["wgpu"],
        platform: Platform::MacOsOnly {
            instead: "wgpu or vulkan",
        },
        preference: 1,
    },
    Backend {
        kind: Kind::Cuda,
        name: "cuda",
        title: "CUDA",
        aliases: &[],
        feature: "cuda",
        default_feature: false,
        takes_index: true,
        ddp: true,
        downloads_llvm: true,
        implies: &[],
        platform: Platform::NotMacOs { instead: "metal" },
        preference: 0,
    },
];

/// The entry of `kind`.
pub fn of(kind: Kind) -> &'static Backend {
    &BACKENDS[kind as usize]
}

/// The backend of this exact name (`cargo xtask train --backend`).
pub fn named(name: &str) -> Option<&'static Backend> {
    BACKENDS.iter().find(|b| b.name == name)
}

/// The backend a lower-case `--device` name means: its name or an alias (`cpu` is flex).
pub fn for_device(name: &str) -> Option<&'static Backend> {
    BACKENDS
        .iter()
        .find(|b| b.name == name || b.aliases.contains(&name))
}

/// Every backend, the most preferred first.
pub fn by_preference() -> Vec<&'static Backend> {
    let mut backends: Vec<&'static Backend> = BACKENDS.iter().collect();
    backends.sort_by_key(|b| b.preference);
    backends
}

/// `a`, `a or b`, `a, b or c`.
pub fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_index_the_table_and_ranks_are_distinct() {
        for (i, backend) in BACKENDS.iter().enumerate() {
            assert_eq!(backend.kind as usize, i, "{}", backend.name);
            assert_eq!(of(backend.kind), backend);
        }
        let mut ranks: Vec<u8> = BACKENDS.iter().map(|b| b.preference).collect();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), BACKENDS.len());
    }

    #[test]
    fn every_feature_is_in_the_cli_manifest() {
        let manifest = include_str!("../Cargo.toml");
        for backend in BACKENDS {
            let line = format!("\n{} = [", backend.feature);
            assert!(manifest.contains(&line), "no feature `{}`", backend.feature);
        }
        // The default line names exactly the default backends (and features that are not
        // backends, such as `remote`).
        let line = manifest
            .lines()
            .find(|l| l.starts_with("default = ["))
            .expect("a default line");
        for backend in BACKENDS {
            let named = line.contains(&format!("\"{}\"", backend.feature));
            assert_eq!(
                named, backend.default_feature,
                "{line}: {}",
                backend.feature
            );
        }
    }

    #[test]
    fn lists_read_as_prose() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(either(&names(&["cuda"])), "cuda");
        assert_eq!(either(&names(&["a", "b", "c"])), "a, b or c");
        assert_eq!(for_device("cpu").map(|b| b.kind), Some(Kind::Flex));
        assert_eq!(named("cpu"), None);
    }
}
