#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the efficientnet-burn crate.

CPU only and deterministic. Writes into tests/fixtures/ (relative to the repo root):

  {case}.weights.safetensors  state_dict exactly as PyTorch has it (original keys,
                              num_batches_tracked as int64)
  {case}.io.safetensors       input, stem, stage.{s}, head, logits (float32)
  {case}.json                 the case's parameters and library versions
  tv_b0_wrapped.pth (zip, {'state_dict': ..., 'epoch': 3}), lukemelas_b0_legacy.pth (pre-1.6
                              pickle format): PyTorch checkpoints

Weights are stored as float16; `randomize` first rounds them to float16-representable values,
so the float32 reference outputs are exact for the stored weights.

Every case has num_classes=10 and reduced width/depth. The models are built with the
libraries' own builders, so the Rust side can check its scaling rules against them.

With --full the same six cases are written at full size (num_classes=1000, built with the
libraries' public constructors: torchvision.models.efficientnet_b0 / efficientnet_v2_s,
timm.create_model, EfficientNet.from_name) into target/fixtures-full/ (or --out), with the
same file names; they are too large to commit (~150 MB in all) and never go to tests/fixtures/.
BatchNorm layers get random affine parameters and running statistics, and every conv bias
(the SE convs are the only convs with one) gets N(0, 0.1) values, so identity/zero
initialisation cannot hide a bug.

Usage: python scripts/make_fixtures.py [--full] [--out DIR] [--cases tv_b0,tf_b0,...]
Needs: torch torchvision timm efficientnet-pytorch safetensors numpy
(see scripts/requirements.txt).
"""

import argparse
import json
import math
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

SEED = 0
NUM_CLASSES = 10
FULL_NUM_CLASSES = 1000
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"
DEFAULT_FULL_OUT = REPO_ROOT / "target" / "fixtures-full"
# The case list, shared with the parity tests and `cargo xtask parity`.
CASES_FILE = DEFAULT_OUT / "cases.txt"


def read_cases(path=CASES_FILE):
    """The fixture cases in order: one name a line of `path`, `#` starting a comment line."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


CASES = read_cases()


# --------------------------------------------------------------------------------------
# Builders. Each returns (model, meta); meta holds the JSON-able description of the case.
# The hooks spec tells `capture` which module outputs are stem / stage.{s} / head.
# --------------------------------------------------------------------------------------


def _tv_stage_config(setting):
    return [
        dict(block=c.block.__name__, expand_ratio=c.expand_ratio, kernel=c.kernel, stride=c.stride,
             in_channels=c.input_channels, out_channels=c.out_channels, repeats=c.num_layers)
        for c in setting
    ]


def _tv_meta(constructor, variant, width, depth, bn_eps, input_shape, setting, size=None):
    """The description of a torchvision case (symmetric padding); `size` is recorded if given."""
    meta = dict(library="torchvision", constructor=constructor, variant=variant)
    if size is not None:
        meta["size"] = size
    meta.update(
        width_mult=width,
        depth_mult=depth,
        padding="symmetric",
        bn_eps=bn_eps,
        input_shape=input_shape,
        stage_config=_tv_stage_config(setting),
    )
    return meta


def build_tv_b0():
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.34)
    model = EfficientNet(setting, dropout=0.2, last_channel=last_channel, num_classes=NUM_CLASSES)
    constructor = (
        "setting, last_channel = torchvision.models.efficientnet._efficientnet_conf("
        "'efficientnet_b0', width_mult=0.25, depth_mult=0.34); "
        "torchvision.models.efficientnet.EfficientNet(setting, dropout=0.2, "
        "last_channel=last_channel, num_classes=10)"
    )
    return model, _tv_meta(constructor, "efficientnet_b0", 0.25, 0.34, 1e-5, [1, 3, 48, 64], setting)


def build_tv_v2():
    from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig

    # EfficientNetV2-B0 base table scaled by width 0.25 / depth 0.5 WITHOUT the 10% rule.
    # MBConvConfig's width_mult/depth_mult default to 1.0 (channels only go through
    # _make_divisible(c, 8), a no-op for these multiples of 8); FusedMBConvConfig takes none.
    setting = [
        FusedMBConvConfig(1, 3, 1, 8, 8, 1),
        FusedMBConvConfig(4, 3, 2, 8, 8, 1),
        FusedMBConvConfig(4, 3, 2, 8, 16, 1),
        MBConvConfig(4, 3, 2, 16, 24, 2),
        MBConvConfig(6, 3, 1, 24, 32, 3),
        MBConvConfig(6, 3, 2, 32, 48, 4),
    ]
    model = EfficientNet(
        setting,
        dropout=0.2,
        num_classes=NUM_CLASSES,
        norm_layer=partial(nn.BatchNorm2d, eps=1e-3),
        last_channel=320,
    )
    constructor = (
        "torchvision.models.efficientnet.EfficientNet([FusedMBConvConfig(1,3,1,8,8,1), "
        "FusedMBConvConfig(4,3,2,8,8,1), FusedMBConvConfig(4,3,2,8,16,1), MBConvConfig(4,3,2,16,24,2), "
        "MBConvConfig(6,3,1,24,32,3), MBConvConfig(6,3,2,32,48,4)], dropout=0.2, num_classes=10, "
        "norm_layer=partial(nn.BatchNorm2d, eps=1e-3), last_channel=320)"
    )
    variant = "efficientnet_v2_b0 layout (torchvision V2 blocks), width 0.25 / depth 0.5, no 10% rounding rule"
    return model, _tv_meta(constructor, variant, 0.25, 0.5, 1e-3, [1, 3, 48, 48], setting)


def _timm_meta(model, constructor, variant, width, depth, input_shape):
    stage_config = []
    for s, stage in enumerate(model.blocks):
        first = stage[0]
        stage_config.append(dict(block=type(first).__name__, repeats=len(stage),
                                 out_channels=_block_out_channels(stage[-1])))
    return dict(
        library="timm",
        constructor=constructor,
        variant=variant,
        width_mult=width,
        depth_mult=depth,
        padding="same",
        bn_eps=1e-3,
        input_shape=input_shape,
        stage_config=stage_config,
    )


def _build_tf(generator, name, width, depth, input_shape):
    """A reduced timm `tf_*` model: the kwargs of timm's entry point for `name`
    (bn_eps=BN_EPS_TF_DEFAULT=1e-3, pad_type='same') with the multipliers overridden."""
    from timm.models import efficientnet

    model = getattr(efficientnet, generator)(
        name, channel_multiplier=width, depth_multiplier=depth, pretrained=False,
        num_classes=NUM_CLASSES, bn_eps=1e-3, pad_type="same",
    )
    constructor = (
        f"timm.models.efficientnet.{generator}('{name}', channel_multiplier={width}, "
        f"depth_multiplier={depth}, pretrained=False, num_classes={NUM_CLASSES}, bn_eps=1e-3, "
        "pad_type='same')"
    )
    return model, _timm_meta(model, constructor, name, width, depth, input_shape)


def build_tf_b0():
    return _build_tf("_gen_efficientnet", "tf_efficientnet_b0", 0.25, 0.34, [1, 3, 51, 61])


def build_tf_v2_b0():
    return _build_tf("_gen_efficientnetv2_base", "tf_efficientnetv2_b0", 0.25, 0.5, [1, 3, 47, 53])


def build_tf_lite0():
    return _build_tf("_gen_efficientnet_lite", "tf_efficientnet_lite0", 0.25, 1.0, [1, 3, 45, 51])


def lukemelas_stage_repeats(model):
    from efficientnet_pytorch.utils import round_repeats

    return [round_repeats(b.num_repeat, model._global_params) for b in model._blocks_args]


def _lukemelas_stage_config(model):
    repeats = lukemelas_stage_repeats(model)
    assert sum(repeats) == len(model._blocks)
    stage_config, g = [], 0
    for r in repeats:
        blk = model._blocks[g]
        stage_config.append(dict(
            block="MBConvBlock", expand_ratio=blk._block_args.expand_ratio, kernel=blk._block_args.kernel_size,
            stride=blk._block_args.stride, in_channels=blk._block_args.input_filters,
            out_channels=blk._block_args.output_filters, repeats=r, first_global_block=g,
        ))
        g += r
    return stage_config


def build_lukemelas_b0():
    from efficientnet_pytorch import EfficientNet

    model = EfficientNet.from_name(
        # Width 0.35, not 0.25: efficientnet_pytorch never adds the residual to the first block
        # of a stage (its `stride` is the list `[1]`, and `[1] == 1` is False), which matters
        # only where a stage's first block keeps its width, as at width 0.25 (stage 0: 8 -> 8).
        # At 0.35 no stage starts with in == out, as in every published variant.
        "efficientnet-b0", width_coefficient=0.35, depth_coefficient=0.34, num_classes=NUM_CLASSES, image_size=48,
    )
    model.set_swish(memory_efficient=False)  # x * sigmoid(x), same numbers, plain autograd
    stage_config = _lukemelas_stage_config(model)
    meta = dict(
        library="efficientnet_pytorch",
        constructor=(
            "efficientnet_pytorch.EfficientNet.from_name('efficientnet-b0', width_coefficient=0.35, "
            "depth_coefficient=0.34, num_classes=10, image_size=48)"
        ),
        variant="efficientnet-b0",
        width_mult=0.35,
        depth_mult=0.34,
        padding="same",
        padding_note="Conv2dStaticSamePadding computed for image_size=48 at construction",
        bn_eps=model._global_params.batch_norm_epsilon,
        input_shape=[1, 3, 48, 48],
        stage_config=stage_config,
    )
    return model, meta


BUILDERS = {
    "tv_b0": build_tv_b0,
    "tf_b0": build_tf_b0,
    "lukemelas_b0": build_lukemelas_b0,
    "tf_v2_b0": build_tf_v2_b0,
    "tv_v2": build_tv_v2,
    "tf_lite0": build_tf_lite0,
}


# --------------------------------------------------------------------------------------
# Full-size builders (--full): the libraries' public constructors, 1000 classes.
# --------------------------------------------------------------------------------------


def _build_full_tv(variant, side, bn_eps):
    """A full-size torchvision model (`bn_eps` is what its builder uses, recorded as metadata)."""
    import torchvision
    from torchvision.models.efficientnet import _efficientnet_conf

    model = getattr(torchvision.models, variant)(weights=None, num_classes=FULL_NUM_CLASSES)
    # V2 configs ignore the multipliers.
    setting, _last = _efficientnet_conf(variant, width_mult=1.0, depth_mult=1.0)
    assert len(model.features) == len(setting) + 2
    constructor = f"torchvision.models.{variant}(weights=None, num_classes=1000)"
    return model, _tv_meta(constructor, variant, 1.0, 1.0, bn_eps, [1, 3, side, side], setting, size="full")


def build_full_tv_b0():
    return _build_full_tv("efficientnet_b0", 224, 1e-5)


def build_full_tv_v2():
    return _build_full_tv("efficientnet_v2_s", 384, 1e-3)


def _build_full_timm(name, input_shape):
    import timm

    model = timm.create_model(name, pretrained=False, num_classes=FULL_NUM_CLASSES)
    meta = _timm_meta(
        model, f"timm.create_model('{name}', pretrained=False, num_classes=1000)", name, 1.0, 1.0, input_shape,
    )
    meta = dict(meta, size="full")
    return model, meta


def build_full_tf_b0():
    # Odd, non-square input: exercises TF 'same' padding with uneven splits.
    return _build_full_timm("tf_efficientnet_b0", [1, 3, 231, 257])


def build_full_tf_v2_b0():
    return _build_full_timm("tf_efficientnetv2_b0", [1, 3, 224, 224])


def build_full_tf_lite0():
    return _build_full_timm("tf_efficientnet_lite0", [1, 3, 224, 224])


def build_full_lukemelas_b0():
    from efficientnet_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-b0", image_size=224)
    assert model._fc.out_features == FULL_NUM_CLASSES
    model.set_swish(memory_efficient=False)
    meta = dict(
        library="efficientnet_pytorch",
        constructor="efficientnet_pytorch.EfficientNet.from_name('efficientnet-b0', image_size=224)",
        variant="efficientnet-b0",
        size="full",
        width_mult=model._global_params.width_coefficient,
        depth_mult=model._global_params.depth_coefficient,
        padding="same",
        padding_note="Conv2dStaticSamePadding computed for image_size=224 at construction",
        bn_eps=model._global_params.batch_norm_epsilon,
        input_shape=[1, 3, 224, 224],
        stage_config=_lukemelas_stage_config(model),
    )
    return model, meta


FULL_BUILDERS = {
    "tv_b0": build_full_tv_b0,
    "tf_b0": build_full_tf_b0,
    "lukemelas_b0": build_full_lukemelas_b0,
    "tf_v2_b0": build_full_tf_v2_b0,
    "tv_v2": build_full_tv_v2,
    "tf_lite0": build_full_tf_lite0,
}
assert sorted(BUILDERS) == sorted(CASES), f"{CASES_FILE} lists {CASES}, the builders are {list(BUILDERS)}"
assert sorted(FULL_BUILDERS) == sorted(CASES), f"{CASES_FILE} lists {CASES}, the full builders are {list(FULL_BUILDERS)}"


def _block_out_channels(block):
    """Output channels of a timm block: the last conv's out_channels."""
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


def build_model(case, full=False):
    """Build a case's model (eval mode, library-default init). Returns (model, meta).

    full=True: the full-size variant (FULL_BUILDERS, 1000 classes)."""
    model, meta = (FULL_BUILDERS if full else BUILDERS)[case]()
    model.eval()
    return model, meta


# --------------------------------------------------------------------------------------
# Randomisation and capture
# --------------------------------------------------------------------------------------


@torch.no_grad()
def randomize(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):  # timm's BatchNormAct2d subclasses BatchNorm2d
            n = m.num_features
            m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
        elif isinstance(m, nn.Conv2d) and m.bias is not None:  # only SE convs have a bias
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    # Round every float parameter and statistic to a float16-representable value, so the
    # weights can be committed as float16 (half the bytes) without changing the reference
    # outputs, which are computed in float32 from these exact values.
    for t in model.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.half().float())


def hook_points(case, model):
    """Returns (stem_module, [stage modules], head_module, how) for the case's layout.

    For lukemelas the stem and head activations are the two calls of the shared
    `model._swish` (stem first, head second); stage outputs are the last block of each stage.
    """
    if case.startswith("tv_"):
        feats = model.features
        return feats[0], [feats[i] for i in range(1, len(feats) - 1)], feats[len(feats) - 1]
    if case.startswith("tf_"):
        return model.bn1, list(model.blocks), model.bn2
    if case.startswith("lukemelas"):
        repeats = lukemelas_stage_repeats(model)
        ends = np.cumsum(repeats) - 1
        return None, [model._blocks[int(e)] for e in ends], None
    raise ValueError(case)


@torch.no_grad()
def capture(case, model, x):
    out = {}
    handles = []

    def save(name):
        def fn(_m, _inp, o):
            out[name] = o.detach().clone()
        return fn

    stem, stages, head = hook_points(case, model)
    if stem is not None:
        handles.append(stem.register_forward_hook(save("stem")))
        handles.append(head.register_forward_hook(save("head")))
    else:
        calls = []

        def swish_hook(_m, _inp, o):
            calls.append(o.detach().clone())
        handles.append(model._swish.register_forward_hook(swish_hook))
    for s, st in enumerate(stages):
        handles.append(st.register_forward_hook(save(f"stage.{s}")))
    logits = model(x)
    for h in handles:
        h.remove()
    if stem is None:
        assert len(calls) == 2, f"expected 2 calls of model._swish, got {len(calls)}"
        out["stem"], out["head"] = calls
    out["logits"] = logits.detach().clone()
    return out, len(stages)


def versions():
    import timm
    import torchvision
    import efficientnet_pytorch
    import safetensors

    return dict(
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        timm=timm.__version__,
        efficientnet_pytorch=getattr(efficientnet_pytorch, "__version__", "unknown"),
        safetensors=safetensors.__version__,
        numpy=np.__version__,
        python=sys.version.split()[0],
    )


def make_input(meta):
    gen = torch.Generator().manual_seed(SEED + 1)
    return torch.randn(meta["input_shape"], generator=gen, dtype=torch.float32)


def seeded_model(case, full=False):
    """Build the model with the fixture's deterministic (randomised) parameters."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    model, meta = build_model(case, full=full)
    randomize(model, torch.Generator().manual_seed(SEED))
    return model, meta


def half(t):
    """float16 copy of a float tensor (exact: `randomize` rounded the values), others unchanged."""
    return (t.half() if t.is_floating_point() else t).contiguous()


def make_case(case, out_dir, full=False):
    from safetensors.torch import save_file

    model, meta = seeded_model(case, full=full)
    x = make_input(meta)
    io, n_stages = capture(case, model, x)
    io = {"input": x, **io}
    sd = model.state_dict()
    save_file({k: half(v) for k, v in sd.items()}, str(out_dir / f"{case}.weights.safetensors"))
    save_file({k: v.contiguous().float() for k, v in io.items()}, str(out_dir / f"{case}.io.safetensors"),
              metadata={"case": case})
    meta = dict(
        case=case,
        **meta,
        num_classes=FULL_NUM_CLASSES if full else NUM_CLASSES,
        stem_channels=int(io["stem"].shape[1]),
        head_channels=int(io["head"].shape[1]),
        stage_names=[f"stage.{s}" for s in range(n_stages)],
        shapes={k: list(v.shape) for k, v in io.items()},
        num_params=int(sum(p.numel() for p in model.parameters())),
        seed=SEED,
        input_seed=SEED + 1,
        randomization=("BatchNorm weight~U(0.5,1.5), bias~N(0,0.1), running_mean~N(0,0.1), running_var~U(0.5,1.5); "
                       "conv biases (SE) ~N(0,0.1); conv/linear weights: library default init after torch.manual_seed(0)"),
        versions=versions(),
    )
    with open(out_dir / f"{case}.json", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return model, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true",
                    help=f"write the full-size cases (1000 classes); default --out {DEFAULT_FULL_OUT}")
    ap.add_argument("--out", default=None, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--cases", default=",".join(CASES), help=f"default: every case of {CASES_FILE}")
    args = ap.parse_args()
    torch.set_num_threads(1)  # deterministic reductions
    out_dir = Path(args.out) if args.out else (DEFAULT_FULL_OUT if args.full else DEFAULT_OUT)
    if args.full and out_dir.resolve() == DEFAULT_OUT.resolve():
        ap.error(f"--full never writes into {DEFAULT_OUT} (the committed reduced-size fixtures)")
    out_dir.mkdir(parents=True, exist_ok=True)

    models = {}
    for case in args.cases.split(","):
        model, meta = make_case(case, out_dir, full=args.full)
        models[case] = model
        print(f"{case}: params={meta['num_params']} stem={meta['stem_channels']} head={meta['head_channels']} "
              f"stages={[(s.get('out_channels'), s['repeats']) for s in meta['stage_config']]}", flush=True)

    if "tv_b0" in models:
        sd = {k: half(v) for k, v in models["tv_b0"].state_dict().items()}
        torch.save({"state_dict": sd, "epoch": 3}, out_dir / "tv_b0_wrapped.pth")
    if "lukemelas_b0" in models:
        with open(out_dir / "lukemelas_b0_legacy.pth", "wb") as f:
            sd = {k: half(v) for k, v in models["lukemelas_b0"].state_dict().items()}
            torch.save(sd, f, _use_new_zipfile_serialization=False)

    total = 0
    for p in sorted(out_dir.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"{p.stat().st_size:>9}  {p.relative_to(out_dir)}")
    print(f"total fixture size: {total} bytes ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
