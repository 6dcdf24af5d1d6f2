//! The graph writer: walks a BatchNorm-folded [`EfficientNet`] and emits one ONNX node per
//! operation, with the weights as initializers.
//!
//! ```text
//! ConvBnAct          Conv(x, W, B) -> [Sigmoid, Mul] (SiLU) | Clip(0, 6) (ReLU6)
//! SqueezeExcitation  GlobalAveragePool -> Conv -> act -> Conv -> Sigmoid -> Mul(x, gate)
//! MbConv             [expand] -> depthwise -> [SE] -> project -> [Add(input)]
//! FusedMbConv        conv -> [project] -> [Add(input)]
//! head               Conv -> act -> GlobalAveragePool -> Flatten -> Gemm (logits)
//! ```
//!
//! Dropout and stochastic depth are the identity at inference and leave no node.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

use super::proto::{f32_tensor, int, ints, node, string};
use crate::blocks::{Block, ConvBnAct, SqueezeExcitation};
use crate::config::Activation;
use crate::error::{Error, Result};
use crate::kernels::padding::conv_options;
use crate::model::EfficientNet;

/// Height and width of the tensor being written, or `None` when the graph's input size is
/// dynamic.
type Size = Option<[usize; 2]>;

/// Names of the shared `Clip` bounds of ReLU6.
const CLIP_MIN: &str = "relu6.min";
const CLIP_MAX: &str = "relu6.max";

/// Nodes and initializers of the graph, in topological order.
#[derive(Default)]
pub(super) struct GraphWriter {
    /// The nodes, each after the nodes it reads.
    pub nodes: Vec<NodeProto>,
    /// The weights.
    pub initializers: Vec<TensorProto>,
}

impl GraphWriter {
    /// Writes `model` (BatchNorm folded, see [`EfficientNet::fuse`]) reading graph input `input`
    /// of spatial size `size`; the logits are the output named `output`.
    pub fn network(
        &mut self,
        model: &EfficientNet,
        input: &str,
        size: Size,
        output: &str,
    ) -> Result<()> {
        let (mut x, mut size) = self.layer("stem", &model.stem, input, size)?;
        for (s, stage) in model.stages.iter().enumerate() {
            for (b, block) in stage.blocks.iter().enumerate() {
                let path = format!("stages.{s}.blocks.{b}");
                (x, size) = self.block(&path, block, &x, size)?;
            }
        }
        let (x, _) = self.layer("head", &model.head, &x, size)?;
        let pooled = self.push("GlobalAveragePool", "head.pool", &[&x], vec![]);
        let flat = self.push("Flatten", "head.flatten", &[&pooled], vec![int("axis", 1)]);
        // Burn's Linear weight is `[in, out]`: Gemm's B without transposition.
        let classifier = &model.classifier;
        let weight = self.weight("classifier.weight", classifier.weight.val())?;
        let mut inputs = vec![flat, weight];
        if let Some(bias) = &classifier.bias {
            inputs.push(self.weight("classifier.bias", bias.val())?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        self.push("Gemm", output, &inputs, vec![]);
        Ok(())
    }

    /// One MBConv or Fused-MBConv block.
    fn block(
        &mut self,
        path: &str,
        block: &Block,
        input: &str,
        size: Size,
    ) -> Result<(String, Size)> {
        let (x, size, residual) = match block {
            Block::MbConv(b) => {
                let (mut x, mut size) = (input.to_owned(), size);
                if let Some(expand) = &b.expand {
                    (x, size) = self.layer(&format!("{path}.expand"), expand, &x, size)?;
                }
                (x, size) = self.layer(&format!("{path}.depthwise"), &b.depthwise, &x, size)?;
                if let Some(se) = &b.se {
                    x = self.squeeze_excitation(&format!("{path}.se"), se, &x)?;
                }
                (x, size) = self.layer(&format!("{path}.project"), &b.project, &x, size)?;
                (x, size, b.residual)
            }
            Block::FusedMbConv(b) => {
                let (mut x, mut size) =
                    self.layer(&format!("{path}.conv"), &b.conv, input, size)?;
                if let Some(project) = &b.project {
                    (x, size) = self.layer(&format!("{path}.project"), project, &x, size)?;
                }
                (x, size, b.residual)
            }
        };
        if !residual {
            return Ok((x, size));
        }
        Ok((
            self.push("Add", &format!("{path}.add"), &[&x, input], vec![]),
            size,
        ))
    }

    /// `GlobalAveragePool -> Conv -> act -> Conv -> Sigmoid -> Mul(x, gate)`.
    fn squeeze_excitation(
        &mut self,
        path: &str,
        se: &SqueezeExcitation,
        x: &str,
    ) -> Result<String> {
        let pooled = self.push("GlobalAveragePool", &format!("{path}.pool"), &[x], vec![]);
        let pooled_size = Some([1, 1]);
        let (s, _) = self.conv(
            &format!("{path}.conv_reduce"),
            &se.conv_reduce,
            &pooled,
            pooled_size,
        )?;
        let s = self.activation(&format!("{path}.conv_reduce"), se.activation, &s);
        let (s, _) = self.conv(
            &format!("{path}.conv_expand"),
            &se.conv_expand,
            &s,
            pooled_size,
        )?;
        let gate = self.push("Sigmoid", &format!("{path}.gate"), &[&s], vec![]);
        Ok(self.push("Mul", &format!("{path}.mul"), &[x, &gate], vec![]))
    }

    /// `Conv` with its folded bias, then the activation if the layer has one.
    fn layer(
        &mut self,
        path: &str,
        layer: &ConvBnAct,
        x: &str,
        size: Size,
    ) -> Result<(String, Size)> {
        if layer.bn.is_some() {
            return Err(Error::Export(format!(
                "{path} still has its BatchNorm; export the model after `fuse()`"
            )));
        }
        let (y, size) = self.conv(&format!("{path}.conv"), &layer.conv, x, size)?;
        Ok(match layer.activation {
            Some(act) => (self.activation(path, act, &y), size),
            None => (y, size),
        })
    }

    /// One `Conv` node. Padding: Burn's explicit pads as they are; TF "SAME" folded into
    /// asymmetric `pads` at a known size (the same arithmetic as the forward pass), or
    /// `auto_pad = SAME_UPPER` when the size is dynamic (the odd pixel after, as TF).
    fn conv(&mut self, path: &str, conv: &Conv2d, x: &str, size: Size) -> Result<(String, Size)> {
        let [kh, kw] = conv.kernel_size;
        let mut attributes = vec![
            ints("kernel_shape", &conv.kernel_size),
            ints("strides", &conv.stride),
            ints("dilations", &conv.dilation),
            int("group", conv.groups as i64),
        ];
        let pads = match (size, &conv.padding) {
            // TF "SAME" depends on the input size, unknown here: the runtime computes it.
            (None, PaddingConfig2d::Same) => None,
            // Explicit and valid pads do not depend on it.
            (size, _) => {
                let [h, w] = size.unwrap_or([1, 1]);
                Some(conv_options(conv, [1, 1, h, w]).padding)
            }
        };
        let out_size = match pads {
            None => {
                attributes.push(string("auto_pad", "SAME_UPPER"));
                None
            }
            Some([(top, bottom), (left, right)]) => {
                attributes.push(ints("pads", &[top, left, bottom, right]));
                let out =
                    |len: usize, (before, after): (usize, usize), k: usize, s: usize, d: usize| {
                        (len + before + after - d * (k - 1) - 1) / s + 1
                    };
                let [sh, sw] = conv.stride;
                let [dh, dw] = conv.dilation;
                size.map(|[h, w]| {
                    [
                        out(h, (top, bottom), kh, sh, dh),
                        out(w, (left, right), kw, sw, dw),
                    ]
                })
            }
        };
        let mut inputs = vec![
            x.to_owned(),
            self.weight(&format!("{path}.weight"), conv.weight.val())?,
        ];
        if let Some(bias) = &conv.bias {
            inputs.push(self.weight(&format!("{path}.bias"), bias.val())?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        Ok((self.push("Conv", path, &inputs, attributes), out_size))
    }

    /// SiLU as `Sigmoid` + `Mul` (what PyTorch's exporter writes for `nn.SiLU` at opset 17),
    /// ReLU6 as `Clip(x, 0, 6)`.
    fn activation(&mut self, path: &str, activation: Activation, x: &str) -> String {
        match activation {
            Activation::Silu => {
                let sigmoid = self.push("Sigmoid", &format!("{path}.sigmoid"), &[x], vec![]);
                self.push("Mul", &format!("{path}.silu"), &[x, &sigmoid], vec![])
            }
            Activation::Relu6 => {
                if !self.initializers.iter().any(|t| t.name == CLIP_MIN) {
                    self.initializers.push(f32_tensor(CLIP_MIN, &[], &[0.0]));
                    self.initializers.push(f32_tensor(CLIP_MAX, &[], &[6.0]));
                }
                self.push(
                    "Clip",
                    &format!("{path}.relu6"),
                    &[x, CLIP_MIN, CLIP_MAX],
                    vec![],
                )
            }
        }
    }

    /// Stores `tensor` as the f32 initializer `name`; returns the name.
    fn weight<const D: usize>(&mut self, name: &str, tensor: Tensor<D>) -> Result<String> {
        let dims = tensor.dims();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::Export(format!("{name}: {e:?}")))?;
        self.initializers.push(f32_tensor(name, &dims, &values));
        Ok(name.to_owned())
    }

    /// Appends a node whose output is `output`; returns the output's name.
    fn push(
        &mut self,
        op_type: &str,
        output: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(node(op_type, output, inputs, attributes));
        output.to_owned()
    }
}
