#!/usr/bin/env python3
"""Check a safetensors file exported by the Rust side against a fixture case.

Rebuilds the case's PyTorch model with the builders in make_fixtures.py, loads FILE with
load_state_dict(strict=True), runs the fixture input and compares the logits with the
fixture logits.

Exit status: 0 = match; 1 = logits differ by more than --rtol of the fixture logit range
(max - min); 2 = strict load failed (missing/unexpected keys or shape mismatch).

Usage:
  python scripts/check_export.py --case tv_b0 --weights /tmp/exported.safetensors
  python scripts/check_export.py --case tf_b0 --weights out.safetensors --fixtures tests/fixtures
  python scripts/check_export.py --full --case tv_v2 --weights out.safetensors  # target/fixtures-full
"""

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import BUILDERS, DEFAULT_FULL_OUT, DEFAULT_OUT, build_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", required=True, choices=sorted(BUILDERS))
    ap.add_argument("--weights", required=True, help="safetensors file to check")
    ap.add_argument("--full", action="store_true", help="the full-size case (make_fixtures.py --full)")
    ap.add_argument("--fixtures", default=None,
                    help=f"folder holding {{case}}.io.safetensors (default {DEFAULT_OUT}; with --full {DEFAULT_FULL_OUT})")
    ap.add_argument("--rtol", type=float, default=1e-4, help="allowed max|diff| as a fraction of the logit range")
    ap.add_argument("--ignore-num-batches-tracked", action="store_true",
                    help="do not count missing/extra *.num_batches_tracked keys as a strict-load failure")
    args = ap.parse_args()

    torch.set_num_threads(1)
    if args.fixtures is None:
        args.fixtures = str(DEFAULT_FULL_OUT if args.full else DEFAULT_OUT)
    model, _meta = build_model(args.case, full=args.full)
    sd = load_file(args.weights)
    expected = model.state_dict()

    if args.ignore_num_batches_tracked:
        for k in [k for k in sd if k.endswith("num_batches_tracked") and k not in expected]:
            del sd[k]
        for k in expected:
            if k.endswith("num_batches_tracked") and k not in sd:
                sd[k] = expected[k].clone()

    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    mismatched = sorted(k for k in set(sd) & set(expected) if tuple(sd[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or mismatched:
        print(f"[{args.case}] STRICT LOAD FAILED: {len(missing)} missing, {len(unexpected)} unexpected, "
              f"{len(mismatched)} shape mismatches")
        for k in missing:
            print(f"  missing:    {k} {tuple(expected[k].shape)}")
        for k in unexpected:
            print(f"  unexpected: {k} {tuple(sd[k].shape)}")
        for k in mismatched:
            print(f"  shape:      {k} got {tuple(sd[k].shape)} expected {tuple(expected[k].shape)}")
        return 2
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:  # e.g. dtype problems
        print(f"[{args.case}] STRICT LOAD FAILED: {e}")
        return 2

    io = load_file(str(Path(args.fixtures) / f"{args.case}.io.safetensors"))
    with torch.no_grad():
        logits = model(io["input"])
    ref = io["logits"]
    diff = (logits - ref).abs().max().item()
    rng = (ref.max() - ref.min()).item()
    rel = diff / rng if rng > 0 else diff
    ok = rel <= args.rtol
    print(f"[{args.case}] strict load OK ({len(sd)} tensors); max|dlogits| = {diff:.3e}, "
          f"logit range = {rng:.4f}, relative = {rel:.3e} (tol {args.rtol:g}) -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
