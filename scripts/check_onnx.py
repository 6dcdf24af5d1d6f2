#!/usr/bin/env python3
"""Check ONNX files exported by the Rust side in ONNX Runtime against PyTorch.

For each fixture case: loads DIR/{case}.onnx in ONNX Runtime (all graph optimisations, CPU),
runs the fixture input (batch 1) and a batch of three images (the input, its negative, half of
it), and compares with the logits of the case's PyTorch model (built by make_fixtures.py,
fixture weights loaded with strict=True). Prints one line per case and batch.

Exit status: 0 = every case within --rtol of the PyTorch logit range; 1 = some case is not.

Usage:
  python scripts/check_onnx.py --onnx-dir target/export                  # every case
  python scripts/check_onnx.py --onnx-dir target/export --case tf_b0
  python scripts/check_onnx.py --full --onnx-dir target/export-full     # make_fixtures.py --full
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import BUILDERS, DEFAULT_FULL_OUT, DEFAULT_OUT, build_model, read_cases  # noqa: E402


def session(path):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_case(case, onnx_dir, fixtures, full, rtol):
    model, _meta = build_model(case, full=full)
    model.load_state_dict(load_file(str(Path(fixtures) / f"{case}.weights.safetensors")), strict=True)
    model.eval()
    x = load_file(str(Path(fixtures) / f"{case}.io.safetensors"))["input"]
    sess = session(Path(onnx_dir) / f"{case}.onnx")
    meta = sess.get_modelmeta().custom_metadata_map
    ok = True
    for batch in (x, torch.cat([x, -x, 0.5 * x])):
        with torch.no_grad():
            ref = model(batch).numpy()
        (got,) = sess.run(["logits"], {"input": batch.numpy()})
        diff = float(np.abs(got - ref).max())
        rng = float(ref.max() - ref.min())
        rel = diff / rng if rng > 0 else diff
        passed = rel <= rtol
        ok &= passed
        print(f"[{case}] ONNX Runtime {ort.__version__} batch {batch.shape[0]} "
              f"{batch.shape[2]}x{batch.shape[3]}: max|dlogits| = {diff:.3e}, range = {rng:.4f}, "
              f"relative = {rel:.3e} (tol {rtol:g}) -> {'PASS' if passed else 'FAIL'}; "
              f"input {meta.get('input', '?')}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx-dir", required=True, help="folder of {case}.onnx files")
    ap.add_argument("--case", choices=sorted(BUILDERS), help="one case (default: every case)")
    ap.add_argument("--full", action="store_true", help="the full-size cases (make_fixtures.py --full)")
    ap.add_argument("--fixtures", default=None,
                    help=f"folder of the fixture files (default {DEFAULT_OUT}; with --full {DEFAULT_FULL_OUT})")
    ap.add_argument("--rtol", type=float, default=1e-4, help="allowed max|diff| as a fraction of the logit range")
    args = ap.parse_args()

    torch.set_num_threads(1)
    fixtures = args.fixtures or str(DEFAULT_FULL_OUT if args.full else DEFAULT_OUT)
    cases = [args.case] if args.case else read_cases()
    results = [check_case(case, args.onnx_dir, fixtures, args.full, args.rtol) for case in cases]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
