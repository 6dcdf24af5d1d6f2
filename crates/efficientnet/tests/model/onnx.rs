//! ONNX export checked by a real runtime: every fixture case exported with
//! `efficientnet::onnx`, run by tract (a pure-Rust ONNX runtime) and compared with this crate's
//! logits to 1e-4 of their range, at batch 1 and 3; TF "SAME" padding both folded into `pads`
//! (fixed size) and as `auto_pad` (dynamic size) at the odd 51 x 61 input of `tf_b0`.

use burn::tensor::{Tensor, TensorData};
use efficientnet::onnx::{OnnxOptions, to_onnx, to_onnx_bytes};
use efficientnet::weights::read_tensors;
use efficientnet::{EfficientNet, EfficientNetConfig};
use tract_onnx::prelude::{
    DatumExt, Framework, InferenceModelExt, IntoRunnable, TVec, Tensor as TractTensor, tvec,
};

use super::device;
use super::parity::{CASES, load_on, parity_fixture, relative_error};

/// The case's model and its fixture input `[1, 3, H, W]` (the full-size set's with
/// `EFFICIENTNET_FIXTURES`, as the parity tests).
fn case(case: &str) -> (EfficientNet, Tensor<4>) {
    let dev = device();
    let model = load_on(case, &format!("{case}.weights.safetensors"), &dev);
    let io = read_tensors(&parity_fixture(&format!("{case}.io.safetensors"))).expect("io fixture");
    let input = &io["input"];
    let values = input.values.clone().expect("float input");
    let input = Tensor::from_data(TensorData::new(values, input.shape.clone()), &dev);
    (model, input)
}

/// Three different images from one: the input, its negative and half of it.
fn batch_of_three(x: &Tensor<4>) -> Tensor<4> {
    Tensor::cat(
        vec![x.clone(), x.clone().neg(), x.clone().mul_scalar(0.5)],
        0,
    )
}

/// Runs the ONNX model `bytes` in tract on `x` (shape fixed for the run).
fn run_in_tract(bytes: &[u8], x: &Tensor<4>) -> Tensor<2> {
    let dims = x.dims();
    let values = x.to_data().try_into_vec::<f32>().expect("f32 input");
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the export")
        .with_input_fact(0, f32::fact(dims).into())
        .expect("input fact")
        .into_optimized()
        .expect("tract optimises the graph")
        .into_runnable()
        .expect("runnable");
    let input = TractTensor::from_shape(&dims, &values).expect("tensor");
    let outputs: TVec<_> = model
        .run(tvec![input.into()])
        .expect("tract runs the graph");
    let logits = outputs[0].to_plain_array_view::<f32>().expect("f32 logits");
    let shape = logits.shape().to_vec();
    let values: Vec<f32> = logits.iter().copied().collect();
    Tensor::from_data(TensorData::new(values, shape), &x.device())
}

/// Exports `model` with `options` and checks tract's logits on `x` against ours, to 1e-4 of
/// their range.
fn check(name: &str, model: &EfficientNet, options: &OnnxOptions, x: &Tensor<4>) {
    let bytes = to_onnx_bytes(model, options).expect("export");
    // The error as a fraction of our logits' range (`relative_error(theirs, reference)`).
    let err = relative_error(run_in_tract(&bytes, x), model.forward(x.clone()));
    eprintln!("{name} batch {}: relative error {err:.2e}", x.dims()[0]);
    assert!(
        err <= 1e-4,
        "{name}: tract differs by {err} of the logits' range"
    );
}

#[test]
fn every_fixture_case_runs_in_tract_at_batch_1_and_3() {
    for name in CASES {
        let (model, x) = case(name);
        let [_, _, h, w] = x.dims();
        let options = OnnxOptions::new(Some([h, w]));
        check(name, &model, &options, &x);
        check(name, &model, &options, &batch_of_three(&x));
    }
}

#[test]
fn tf_same_padding_at_a_dynamic_odd_size_and_a_fixed_batch() {
    let (model, x) = case("tf_b0");
    assert_eq!(
        x.dims(),
        [1, 3, 51, 61],
        "the fixture's odd, non-square size"
    );
    // Dynamic size: `auto_pad = SAME_UPPER` on every convolution but squeeze-excitation's
    // (1x1 on the pooled 1x1 map, no padding), no explicit pads.
    let dynamic = OnnxOptions::new(None);
    let graph = to_onnx(&model, &dynamic)
        .expect("export")
        .graph
        .expect("graph");
    let convs: Vec<_> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Conv" && !n.name.contains(".se."))
        .collect();
    assert!(!convs.is_empty());
    for conv in &convs {
        let auto_pad = conv.attribute.iter().find(|a| a.name == "auto_pad");
        assert_eq!(
            auto_pad.map(|a| a.s.as_slice()),
            Some(&b"SAME_UPPER"[..]),
            "{}",
            conv.name
        );
    }
    check("tf_b0 dynamic size", &model, &dynamic, &x);
    check("tf_b0 dynamic size", &model, &dynamic, &batch_of_three(&x));
    // The same network at another odd size, through the same dynamic graph.
    let other = Tensor::cat(vec![x.clone(), x.clone()], 3).narrow(3, 0, 97); // [1, 3, 51, 97]
    check("tf_b0 dynamic size 51x97", &model, &dynamic, &other);
    // A fixed batch of 3.
    let fixed = OnnxOptions::new(Some([51, 61])).with_batch(Some(3));
    check("tf_b0 fixed batch", &model, &fixed, &batch_of_three(&x));
}

#[test]
fn the_graph_has_no_batchnorm_no_pad_and_the_expected_ops() {
    let (model, x) = case("tf_lite0");
    let [_, _, h, w] = x.dims();
    let graph = to_onnx(&model, &OnnxOptions::new(Some([h, w]))).expect("export");
    let ops: Vec<&str> = graph
        .graph
        .as_ref()
        .expect("graph")
        .node
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    for absent in ["BatchNormalization", "Pad", "Dropout", "Sigmoid"] {
        assert!(
            !ops.contains(&absent),
            "Lite (ReLU6, no SE) has no {absent}: {ops:?}"
        );
    }
    assert!(ops.contains(&"Clip"));
    // B0: SiLU as Sigmoid + Mul, SE's mean as GlobalAveragePool, one Gemm.
    let (b0, _) = case("tv_b0");
    let graph = to_onnx(&b0, &OnnxOptions::new(Some([64, 64]))).expect("export");
    let graph = graph.graph.expect("graph");
    let count = |op: &str| graph.node.iter().filter(|n| n.op_type == op).count();
    let blocks = b0.blocks().count();
    // One pool per SE block plus the head's; every conv + SiLU pair is one Sigmoid + Mul.
    assert_eq!(count("GlobalAveragePool"), blocks + 1);
    assert_eq!(count("Gemm"), 1);
    assert_eq!(count("Clip"), 0);
    assert_eq!(count("Pad"), 0);
    assert_eq!(count("BatchNormalization"), 0);
}

#[test]
fn sizes_under_32_and_batch_0_are_refused() {
    let model = EfficientNetConfig::lite0().with_width(0.25).init(&device());
    let small = to_onnx(&model, &OnnxOptions::new(Some([31, 64]))).expect_err("31 px");
    assert_eq!(
        small.to_string(),
        "cannot export the model: the input size must be at least 32 x 32, got 31 x 64"
    );
    let empty = OnnxOptions::new(Some([32, 32])).with_batch(Some(0));
    assert!(to_onnx(&model, &empty).is_err());
}

/// Writes `{case}.onnx` (the fixture's input size, any batch) for every case to
/// `$EFFICIENTNET_EXPORT_DIR`; `cargo xtask parity` runs them in ONNX Runtime against PyTorch
/// (`scripts/check_onnx.py`).
#[test]
#[ignore = "writes files for cargo xtask parity"]
fn export_every_case_for_onnx_runtime() {
    use efficientnet::onnx::save_onnx;
    let dir = std::env::var_os("EFFICIENTNET_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("efficientnet-export"));
    std::fs::create_dir_all(&dir).expect("export dir");
    for name in CASES {
        let (model, x) = case(name);
        let [_, _, h, w] = x.dims();
        let out = dir.join(format!("{name}.onnx"));
        save_onnx(&model, &OnnxOptions::new(Some([h, w])), &out).expect("export");
        println!("{name}: {}", out.display());
    }
}

/// `model` with the BatchNorm scale of each residual branch's last layer at 0.2, so that a deep
/// untrained network stays well-conditioned as a trained one is. (Freshly initialised,
/// BatchNorm statistics 0 and 1 normalise nothing and V2-M's logits reach 4e4, where Burn's own
/// flex and ndarray backends are 13% of the range apart.)
fn tamed(mut model: EfficientNet) -> EfficientNet {
    use burn::module::Param;
    use efficientnet::blocks::{Block, ConvBnAct};
    let tame = |layer: &mut ConvBnAct| {
        if let Some(bn) = &mut layer.bn {
            let gamma = bn.gamma.val();
            bn.gamma = Param::from_tensor(gamma.mul_scalar(0.2));
        }
    };
    for block in model.stages.iter_mut().flat_map(|s| &mut s.blocks) {
        match block {
            Block::MbConv(b) if b.residual => tame(&mut b.project),
            Block::FusedMbConv(b) if b.residual => match &mut b.project {
                Some(project) => tame(project),
                None => tame(&mut b.conv),
            },
            _ => {}
        }
    }
    model
}

/// Every variant (B0–B8, L2, Lite0–4, V2-S/M/L, V2-B0–B3) at a quarter of its width, with
/// PyTorch padding and with TF "SAME" on alternate variants, exports and runs in tract at an
/// odd size (35 x 48) with this crate's logits: the depth scaling, stage tables and head of each.
/// The models are [`tamed`]; the bound is 1e-4 of the logits' range, as for the fixtures.
#[test]
fn every_variant_exports_and_runs_in_tract() {
    use efficientnet::Variant;
    for (i, variant) in Variant::ALL.into_iter().enumerate() {
        let config = variant.config().with_width(0.25).with_num_classes(5);
        let config = if i % 2 == 1 { config.tf() } else { config };
        let model = tamed(config.init(&device()));
        let x = super::images([2, 3, 35, 48], &device());
        let name = format!("{variant:?}{}", if i % 2 == 1 { " tf" } else { "" });
        check(&name, &model, &OnnxOptions::new(Some([35, 48])), &x);
    }
}
