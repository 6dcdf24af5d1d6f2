//! `efficientnet export --format onnx`: the loaded model as an ONNX graph, its weight set's
//! preprocessing in the metadata.

use std::path::Path;

use clap::Args;
use efficientnet::ModelName;
use efficientnet::onnx::{self, OnnxOptions};

use crate::error::Result;
use crate::model_args::Loaded;

/// The ONNX options of `export`.
#[derive(Debug, Args)]
pub struct OnnxArgs {
    /// ONNX batch dimension: `dynamic` (any batch size, the default) or a number.
    #[arg(long, value_parser = parse_batch, value_name = "dynamic|N")]
    batch: Option<Batch>,
    /// ONNX input size, `R` or `HxW` (default: the weight set's crop, e.g. 224).
    #[arg(long, value_parser = parse_size, value_name = "R|HxW", conflicts_with = "dynamic_size")]
    resolution: Option<[usize; 2]>,
    /// ONNX input of any height and width (at least 32); TF "SAME" padding becomes
    /// `auto_pad = SAME_UPPER`.
    #[arg(long)]
    dynamic_size: bool,
}

/// `--batch`: any size, or a fixed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// The symbol `batch`.
    Dynamic,
    /// A number.
    Fixed(usize),
}

impl OnnxArgs {
    /// The first ONNX flag given, for refusing it with another format.
    pub fn first_set_flag(&self) -> Option<&'static str> {
        [
            (self.batch.is_some(), "--batch"),
            (self.resolution.is_some(), "--resolution"),
            (self.dynamic_size, "--dynamic-size"),
        ]
        .into_iter()
        .find_map(|(set, flag)| set.then_some(flag))
    }

    /// The library options for `loaded` (its weight set's crop unless told otherwise).
    fn options(&self, loaded: &Loaded, model: ModelName) -> OnnxOptions {
        let crop = loaded.weight_set.transform.crop as usize;
        let size = match (self.dynamic_size, self.resolution) {
            (true, _) => None,
            (false, Some(size)) => Some(size),
            (false, None) => Some([crop, crop]),
        };
        let batch = match self.batch {
            None | Some(Batch::Dynamic) => None,
            Some(Batch::Fixed(n)) => Some(n),
        };
        OnnxOptions::new(size)
            .with_batch(batch)
            .with_weight_set(&model.to_string(), &loaded.weight_set)
    }
}

/// Writes the ONNX graph of `loaded` to `out` and says what it holds.
pub fn write(args: &OnnxArgs, loaded: &Loaded, model: ModelName, out: &Path) -> Result<()> {
    let options = args.options(loaded, model);
    let (graph, bytes) = onnx::save_onnx(&loaded.model, &options, out)?;
    let described = |key: &str| {
        graph
            .metadata_props
            .iter()
            .find(|e| e.key == key)
            .map_or_else(String::new, |e| e.value.clone())
    };
    let (input, output) = (described("input"), described("output"));
    let nodes = graph.graph.as_ref().map_or(0, |g| g.node.len());
    let t = &loaded.weight_set.transform;
    eprintln!(
        "exported {model} as ONNX (opset {}, {nodes} nodes, {:.1} MB) to {}\n  {input}\n  {output}\n  \
         preprocessing: resize {}, crop {}, {:?}, mean {:?}, std {:?} ({})",
        onnx::OPSET,
        bytes as f64 / 1e6,
        out.display(),
        t.resize,
        t.crop,
        t.interpolation,
        t.mean,
        t.std,
        loaded.weight_set.name,
    );
    Ok(())
}

fn parse_batch(s: &str) -> Result<Batch, String> {
    if s.eq_ignore_ascii_case("dynamic") {
        return Ok(Batch::Dynamic);
    }
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Batch::Fixed(n)),
        _ => Err(format!(
            "expected `dynamic` or a batch size of at least 1, got `{s}`"
        )),
    }
}

fn parse_size(s: &str) -> Result<[usize; 2], String> {
    let parse = |p: &str| {
        p.trim()
            .parse::<usize>()
            .map_err(|_| format!("expected R or HxW (e.g. 224 or 240x320), got `{s}`"))
    };
    let size = match s.split_once(['x', 'X']) {
        Some((h, w)) => [parse(h)?, parse(w)?],
        None => {
            let r = parse(s)?;
            [r, r]
        }
    };
    if size.iter().any(|&v| v < 32) {
        return Err(format!("the input size must be at least 32, got `{s}`"));
    }
    Ok(size)
}
