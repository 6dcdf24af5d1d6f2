#!/usr/bin/env python3
"""ONNX Runtime speed of this crate's ONNX export against torchvision's own, same weights.

Builds torchvision's EfficientNet (random weights: speed does not depend on them), exports it
with torch.onnx.export (opset 17, dynamic batch), writes its state dict as safetensors, has
the `efficientnet` CLI export the same weights (`efficientnet export --out ours.onnx`), then
runs both graphs in ONNX Runtime (all graph optimisations, `--threads` intra-op threads) and
prints images/s (median of timed runs after warm-up, best of alternating rounds) per batch size, the ratio, the largest
logit difference, and the node count of each graph by op type.

Usage (dev-only venv with torch, torchvision, onnx, onnxruntime, safetensors):
  cargo build --release -p efficientnet-cli
  python scripts/bench_ort.py --cli target/release/efficientnet [--model efficientnet_b0]
      [--threads 2] [--batch 1 16] [--iters 30] [--out-dir target/bench-ort]
"""

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from safetensors.torch import save_file

from bench_torch import export_model  # the same export `cargo xtask bench` times in ORT

REPO_ROOT = Path(__file__).resolve().parent.parent


@torch.no_grad()
def randomize_batchnorm(model):
    """BatchNorm statistics as trained weights have them (a fresh model's are 1 and 0, which
    leaves logits near zero and the comparison of logits meaningless)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.1)
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)


def export_torchvision(model, path, size):
    export_model(model, size, path)


def session(path, threads):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def images_per_second(sess, x, iters, warmup=5):
    name = sess.get_inputs()[0].name
    for _ in range(warmup):
        sess.run(None, {name: x})
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        sess.run(None, {name: x})
        times.append(time.perf_counter() - start)
    return x.shape[0] / statistics.median(times)


def op_counts(path):
    graph = onnx.load(str(path)).graph
    return dict(sorted(collections.Counter(n.op_type for n in graph.node).items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True, help="the efficientnet binary")
    ap.add_argument("--model", default="efficientnet_b0", help="torchvision model name")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--iters", type=int, default=30, help="timed runs per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, alternating the two graphs; best round counts")
    ap.add_argument("--out-dir", default=str(REPO_ROOT / "target" / "bench-ort"))
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None).eval()
    randomize_batchnorm(model)
    # The evaluation crop of torchvision's default weights (read from the enum, no download).
    size = torchvision.models.get_model_weights(args.model).DEFAULT.transforms().crop_size[0]
    theirs, ours, weights = out / "torchvision.onnx", out / "ours.onnx", out / "weights.safetensors"
    export_torchvision(model, theirs, size)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    subprocess.run([args.cli, "export", "--model", args.model, "--weights", str(weights),
                    "--resolution", str(size), "--out", str(ours), "--force"], check=True)

    rng = np.random.default_rng(0)
    sessions = {"torchvision export": session(theirs, args.threads), "efficientnet-burn export": session(ours, args.threads)}
    x1 = rng.standard_normal((2, 3, size, size), dtype=np.float32)
    logits = [s.run(None, {s.get_inputs()[0].name: x1})[0] for s in sessions.values()]
    with torch.no_grad():
        reference = model(torch.from_numpy(x1)).numpy()
    report = {"model": args.model, "size": size, "threads": args.threads, "onnxruntime": ort.__version__,
              "torch": torch.__version__,
              "max_logit_diff_vs_torch": {k: float(np.abs(l - reference).max()) for k, l in zip(sessions, logits)},
              "logit_range": float(reference.max() - reference.min()),
              "ops": {"torchvision export": op_counts(theirs), "efficientnet-burn export": op_counts(ours)},
              "images_per_second": {}}
    for batch in args.batch:
        x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
        # Alternate the two so that drift of the machine hits both alike.
        row = {k: [] for k in sessions}
        for _ in range(args.rounds):
            for k, s in sessions.items():
                row[k].append(images_per_second(s, x, args.iters))
        report["images_per_second"][batch] = {k: max(v) for k, v in row.items()}

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.model} {size}x{size}, ONNX Runtime {ort.__version__}, {args.threads} threads, torch {torch.__version__}")
    print(f"logits vs PyTorch eager: max|diff| {report['max_logit_diff_vs_torch']} (range {report['logit_range']:.3f})")
    for name, ops in report["ops"].items():
        print(f"{name}: {sum(ops.values())} nodes {ops}")
    print("| batch | torchvision export (img/s) | efficientnet-burn export (img/s) | ratio |")
    print("|---:|---:|---:|---:|")
    for batch, row in report["images_per_second"].items():
        a, b = row["torchvision export"], row["efficientnet-burn export"]
        print(f"| {batch} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
