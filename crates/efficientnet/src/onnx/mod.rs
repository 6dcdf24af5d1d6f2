//! ONNX export (feature `onnx`): an EfficientNet as an ONNX graph for ONNX Runtime, TensorRT,
//! tract or OpenVINO.
//!
//! The graph is the inference network with every BatchNorm folded into its convolution
//! ([`EfficientNet::fuse`]), at opset [`OPSET`]:
//!
//! * SiLU as `Sigmoid` + `Mul`, ReLU6 as `Clip(x, 0, 6)`, squeeze-excitation's mean as
//!   `GlobalAveragePool`, the classifier as `Gemm`; dropout and stochastic depth leave no node.
//! * TF "SAME" padding (`tf_` models, lukemelas ports) without `Pad` nodes: at a fixed input
//!   size it is folded into each `Conv`'s asymmetric `pads`; with a dynamic size each `Conv`
//!   carries `auto_pad = SAME_UPPER`, which puts the odd pixel after, as TF does.
//! * Input [`INPUT`] `[batch, 3, H, W]` (float32, RGB, normalised as the weight set's
//!   preprocessing says), output [`OUTPUT`] `[batch, num_classes]` (logits, before softmax).
//!   `batch` and `H, W` are fixed numbers or the symbols `batch`, `height`, `width`.
//!
//! The graph is written from the model's structure rather than traced: the experimental
//! exporter of `burn-onnx` 0.22 (feature `export`) records one forward pass at a fixed input
//! shape (no dynamic batch or size) and has no lowering of clamp (ReLU6).
//!
//! `metadata_props` name the input and output with their shapes and, from
//! [`OnnxOptions::with_weight_set`], the model, the weight set and its preprocessing:
//!
//! | key | example |
//! | --- | --- |
//! | `input`, `output` | `input: float32 [batch, 3, 224, 224]`, `logits: float32 [batch, 1000]` |
//! | `num_classes` | `1000` |
//! | `model`, `weight_set` | `efficientnet_b0`, `torchvision EfficientNet_B0_Weights.IMAGENET1K_V1` |
//! | `preprocess.resize`, `preprocess.crop` | `256`, `224` (shorter side, then center crop) |
//! | `preprocess.interpolation` | `bicubic` or `bilinear` |
//! | `preprocess.mean`, `preprocess.std` | `0.485,0.456,0.406` (RGB, after scaling to 0–1) |
//!
//! ```
//! use burn::tensor::Device;
//! use efficientnet::EfficientNetConfig;
//! use efficientnet::onnx::{OnnxOptions, to_onnx};
//!
//! let model = EfficientNetConfig::lite0().with_width(0.25).init(&Device::default());
//! // Any batch size, 224 x 224 images.
//! let graph = to_onnx(&model, &OnnxOptions::new(Some([224, 224])))?;
//! let ops: Vec<&str> = graph.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.as_str()).collect();
//! assert_eq!(&ops[..2], ["Conv", "Clip"]); // the stem: conv (BN folded) + ReLU6
//! assert_eq!(ops.last(), Some(&"Gemm"));
//! assert!(!ops.contains(&"BatchNormalization") && !ops.contains(&"Pad"));
//! # Ok::<(), efficientnet::Error>(())
//! ```

mod graph;
mod proto;

use std::path::Path;

use prost::Message;
pub use tract_onnx::pb::ModelProto;
use tract_onnx::pb::{GraphProto, OperatorSetIdProto, StringStringEntryProto};

use self::graph::GraphWriter;
use self::proto::{Dim, entry, f32_value};
use crate::error::{Error, Result};
use crate::fs::write_file;
use crate::model::EfficientNet;
use crate::preprocess::Interpolation;
use crate::weights::WeightSet;

/// The ONNX operator set the graph is written for (every op used exists unchanged since).
pub const OPSET: i64 = 17;
/// The ONNX IR version that goes with [`OPSET`].
const IR_VERSION: i64 = 8;
/// Name of the graph input (preprocessed images).
pub const INPUT: &str = "input";
/// Name of the graph output (logits).
pub const OUTPUT: &str = "logits";

/// What the exported graph accepts and records.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxOptions {
    /// Batch size; `None`: any (the symbol `batch`).
    pub batch: Option<usize>,
    /// Input height and width; `None`: any size >= 32 (the symbols `height` and `width`).
    pub size: Option<[usize; 2]>,
    /// `metadata_props` besides the input and output descriptions, in order.
    pub metadata: Vec<(String, String)>,
}

impl OnnxOptions {
    /// Any batch size at input size `size` (`None`: dynamic), no metadata yet.
    pub fn new(size: Option<[usize; 2]>) -> Self {
        Self {
            batch: None,
            size,
            metadata: Vec::new(),
        }
    }

    /// A fixed batch size (`None`: dynamic).
    pub fn with_batch(mut self, batch: Option<usize>) -> Self {
        self.batch = batch;
        self
    }

    /// Records `model` (its timm name), the weight set and the set's preprocessing.
    pub fn with_weight_set(mut self, model: &str, set: &WeightSet) -> Self {
        let t = &set.transform;
        let triple = |v: [f32; 3]| format!("{},{},{}", v[0], v[1], v[2]);
        let interpolation = match t.interpolation {
            Interpolation::Bilinear => "bilinear",
            Interpolation::Bicubic => "bicubic",
        };
        for (key, value) in [
            ("model", model.to_owned()),
            ("weight_set", set.name.clone()),
            ("preprocess.resize", t.resize.to_string()),
            ("preprocess.crop", t.crop.to_string()),
            ("preprocess.interpolation", interpolation.to_owned()),
            ("preprocess.mean", triple(t.mean)),
            ("preprocess.std", triple(t.std)),
        ] {
            self.metadata.push((key.to_owned(), value));
        }
        self
    }

    /// Checks the sizes against the model contract (batch >= 1, H, W >= 32).
    fn validate(&self) -> Result<()> {
        if self.batch == Some(0) {
            return Err(Error::Export("the batch size must be at least 1".into()));
        }
        if let Some([h, w]) = self.size
            && (h < 32 || w < 32)
        {
            return Err(Error::Export(format!(
                "the input size must be at least 32 x 32, got {h} x {w}"
            )));
        }
        Ok(())
    }

    /// `[batch, channels, H, W]` of the input with symbols where dynamic.
    fn input_dims(&self, channels: usize) -> Vec<Dim> {
        let fixed_or = |n: Option<usize>, symbol| n.map_or(Dim::Symbol(symbol), Dim::Fixed);
        vec![
            fixed_or(self.batch, "batch"),
            Dim::Fixed(channels),
            fixed_or(self.size.map(|[h, _]| h), "height"),
            fixed_or(self.size.map(|[_, w]| w), "width"),
        ]
    }
}

/// `float32 [batch, 3, 224, 224]`: a shape as the metadata writes it.
fn describe(name: &str, dims: &[Dim]) -> String {
    let dims: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            Dim::Symbol(s) => (*s).to_owned(),
        })
        .collect();
    format!("{name}: float32 [{}]", dims.join(", "))
}

/// The ONNX model of `model` (BatchNorm folded here if it is not yet) with `options`.
///
/// # Errors
/// [`Error::Export`] for a batch of 0 or an input under 32 x 32, or weights that cannot be
/// read as f32.
pub fn to_onnx(model: &EfficientNet, options: &OnnxOptions) -> Result<ModelProto> {
    options.validate()?;
    let model = model.clone().fuse();
    let plan = model.plan();
    let input_dims = options.input_dims(plan.in_channels);
    let output_dims = [input_dims[0].clone(), Dim::Fixed(model.num_classes())];

    let mut writer = GraphWriter::default();
    writer.network(&model, INPUT, options.size, OUTPUT)?;

    let mut metadata: Vec<StringStringEntryProto> = vec![
        entry("input", describe(INPUT, &input_dims)),
        entry("output", describe(OUTPUT, &output_dims)),
        entry("num_classes", model.num_classes().to_string()),
    ];
    metadata.extend(options.metadata.iter().map(|(k, v)| entry(k, v.as_str())));
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "efficientnet-burn".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            name: "efficientnet".into(),
            node: writer.nodes,
            initializer: writer.initializers,
            input: vec![f32_value(INPUT, &input_dims)],
            output: vec![f32_value(OUTPUT, &output_dims)],
            ..Default::default()
        }),
        metadata_props: metadata,
        ..Default::default()
    })
}

/// [`to_onnx`] encoded as the bytes of a `.onnx` file.
pub fn to_onnx_bytes(model: &EfficientNet, options: &OnnxOptions) -> Result<Vec<u8>> {
    Ok(to_onnx(model, options)?.encode_to_vec())
}

/// Writes [`to_onnx`] to `path` (through a temporary file renamed into place, so a killed
/// export leaves no half-written model) and returns the graph written with its size in bytes.
pub fn save_onnx(
    model: &EfficientNet,
    options: &OnnxOptions,
    path: &Path,
) -> Result<(ModelProto, usize)> {
    let graph = to_onnx(model, options)?;
    let bytes = graph.encode_to_vec();
    write_file(path, &bytes)?;
    Ok((graph, bytes.len()))
}
