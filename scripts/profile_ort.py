#!/usr/bin/env python3
"""ONNX Runtime's own profiler on torchvision's EfficientNet B0–B7, summed into this crate's op
classes (the names of `efficientnet bench --profile`), so each class's time can be set beside
ours on the same input (`cargo xtask profile --python ...`).

The model is the export `cargo xtask bench --vs-torch` times (scripts/bench_torch.py: opset 17,
random weights), run with all graph optimisations, `--threads` intra-op threads and
`enable_profiling`. Each kernel event is assigned by its node name, which ORT keeps from
torchvision's module path (`/features/features.2/features.2.1/block/block.0/...`):

  features.0                 stem          features.8, /avgpool   head_and_pool
  block.0 (expanding blocks) expand_1x1    block.1 / block.0      depthwise
  SE block (avgpool, fc1/2)  squeeze_excitation                   /classifier  classifier
  last block, residual Add   project_1x1   ReorderInput/Output    layout (NCHWc blocking)

Activations (SiLU, fused to one node) count with the layer they follow, as in ours.

Usage (dev-only venv with onnxruntime; torch + torchvision to export once):
  python scripts/profile_ort.py [--model efficientnet_b0] [--threads 2] [--iters 30]
Prints one JSON object: images_per_second and profile [{op, ms}] (ms per iteration).
"""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["layout", "stem", "expand_1x1", "depthwise", "squeeze_excitation", "project_1x1",
           "head_and_pool", "classifier"]
STAGE = re.compile(r"/features\.(\d+)/")
BLOCK = re.compile(r"/block/block\.(\d+)/")


def op_class(name, has_expansion):
    """The op class of the node `name`, or None when the name says nothing."""
    if name.startswith("Reorder"):
        return "layout"
    if "/classifier/" in name:
        return "classifier"
    stage = STAGE.search(name)
    if stage is None:
        return "head_and_pool" if "/avgpool/" in name else None
    index = int(stage.group(1))
    if index == 0:
        return "stem"
    if index == 8:
        return "head_and_pool"
    block = BLOCK.search(name)
    if block is None:  # the residual Add, which ours applies in the projection
        return "project_1x1"
    parts = ["depthwise", "squeeze_excitation", "project_1x1"]
    if has_expansion(index):
        parts = ["expand_1x1"] + parts
    return parts[int(block.group(1))]


def onnx_path(model, resolution):
    """The export of bench_torch.py, written once."""
    path = REPO_ROOT / "target" / "bench-ort" / f"{model}-{resolution}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "bench_torch.py"),
                        "--export-onnx", str(path), "--model", model,
                        "--resolution", str(resolution)], check=True)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="efficientnet_b0",
                   choices=[f"efficientnet_b{i}" for i in range(8)])
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=30)
    args = p.parse_args()
    if args.batch_size < 1 or args.iters < 1 or args.threads < 1:
        p.error("--batch-size, --iters and --threads must be at least 1")

    path = onnx_path(args.model, args.resolution)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(REPO_ROOT / "target" / "bench-ort" / "profile")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(
        (args.batch_size, 3, args.resolution, args.resolution), dtype=np.float32)
    feed = {session.get_inputs()[0].name: x}
    for _ in range(args.warmup):
        session.run(None, feed)
    times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    profile_file = Path(session.end_profiling())
    events = json.loads(profile_file.read_text())
    profile_file.unlink()

    # Blocks that expand: their first node is a 1x1 conv (torchvision numbers block.3 there).
    expanding = {int(m.group(1)) for e in events
                 for m in [STAGE.search(e.get("name", ""))] if m and "/block/block.3/" in e["name"]}
    # Only the timed runs: from the start of the first run after the warm-up.
    runs = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    first_timed = runs[args.warmup] if len(runs) > args.warmup else 0
    totals = dict.fromkeys(CLASSES, 0.0)
    unassigned = 0.0
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if e["ts"] < first_timed:
            continue
        cls = op_class(e["name"][: -len("_kernel_time")], lambda i: i in expanding)
        if cls is None:
            unassigned += e["dur"]
        else:
            totals[cls] += e["dur"]
    median = sorted(times)[len(times) // 2]
    print(json.dumps({
        "runtime": f"onnxruntime {ort.__version__}",
        "images_per_second": args.batch_size / median,
        "profile": [{"op": c, "ms": totals[c] / 1e3 / args.iters} for c in CLASSES],
        "unassigned_ms": unassigned / 1e3 / args.iters,
    }))


if __name__ == "__main__":
    main()
