"""PyTorch counterpart of `efficientnet bench`: the same measurement in PyTorch eager on CPU, or
in ONNX Runtime on PyTorch's export of the same model.

images/s = batch / median seconds of timed iterations after warm-up; peak RSS of the process.
Inference runs in eval mode under `torch.inference_mode()`; a training step is forward,
cross-entropy, backward and SGD with momentum 0.9 (lr 0.01), as `efficientnet bench --mode train`.
`--memory-format channels_last` runs PyTorch with NHWC activations and weights.

`--runtime onnxruntime` (inference only) times ONNX Runtime's CPU provider, all graph
optimisations on, `--threads` intra-op threads, on `torch.onnx.export` of the model (opset 17,
dynamic batch; written once to target/bench-ort/ by a child process, so that this process loads
no torch and its peak RSS is ONNX Runtime's own).

    python scripts/bench_torch.py --model efficientnet_b0 --batch-size 16 --mode infer --json
    python scripts/bench_torch.py --runtime onnxruntime --batch-size 16 --json

Models: torchvision's EfficientNet B0-B7 and V2-S/M/L (random weights), else timm by name.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

TORCHVISION = {f"efficientnet_b{i}" for i in range(8)} | {
    "efficientnet_v2_s",
    "efficientnet_v2_m",
    "efficientnet_v2_l",
}
NATIVE = {
    "efficientnet_b0": 224,
    "efficientnet_b1": 240,
    "efficientnet_b2": 260,
    "efficientnet_b3": 300,
    "efficientnet_b4": 380,
    "efficientnet_b5": 456,
    "efficientnet_b6": 528,
    "efficientnet_b7": 600,
    "efficientnet_v2_s": 384,
    "efficientnet_v2_m": 480,
    "efficientnet_v2_l": 480,
}


def build(name):
    import torch  # noqa: F401  (imported here: the ONNX Runtime path runs without it)

    if name in TORCHVISION:
        import torchvision

        return getattr(torchvision.models, name)(weights=None)
    import timm

    return timm.create_model(name, pretrained=False)


def export_model(model, resolution, path):
    """Writes `torch.onnx.export` of `model` (opset 17, dynamic batch, input "input", output
    "logits") for `resolution` x `resolution` images to `path`."""
    import torch

    x = torch.randn(1, 3, resolution, resolution)
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=17,
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    try:
        torch.onnx.export(model, (x,), str(path), dynamo=False, **kwargs)
    except TypeError:  # an exporter without the `dynamo` switch
        torch.onnx.export(model, (x,), str(path), **kwargs)


def export_onnx(model_name, resolution, path):
    """Writes the ONNX export of `model_name` (eval mode, random weights) to `path`."""
    import torch

    torch.manual_seed(0)
    export_model(build(model_name).eval(), resolution, path)


def onnxruntime_step(args, resolution):
    """One inference step in ONNX Runtime on the export of `args.model`, and its version."""
    import numpy as np
    import onnxruntime as ort

    path = REPO_ROOT / "target" / "bench-ort" / f"{args.model}-{resolution}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--export-onnx", str(path), "--model",
                        args.model, "--resolution", str(resolution)], check=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(
        (args.batch_size, 3, resolution, resolution), dtype=np.float32)
    name = session.get_inputs()[0].name

    def step():
        session.run(None, {name: x})

    return step, {"onnxruntime": ort.__version__}


def torch_step(args, resolution):
    """One PyTorch step (inference or training) of `args.model`, and the torch version."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = build(args.model)
    n = args.batch_size
    x = torch.randn(n, 3, resolution, resolution)
    if args.memory_format == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    if args.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)

    else:
        model.train()
        y = torch.arange(n) % 1000
        optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            optim.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optim.step()

    return step, {"torch": torch.__version__, "memory_format": args.memory_format}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--resolution", type=int)
    p.add_argument("--mode", choices=["infer", "train"], default="infer")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runtime", choices=["torch", "onnxruntime"], default="torch")
    p.add_argument("--memory-format", choices=["nchw", "channels_last"], default="nchw")
    p.add_argument("--export-onnx", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    resolution = args.resolution or NATIVE.get(args.model, 224)
    if args.export_onnx:
        export_onnx(args.model, resolution, args.export_onnx)
        return
    if args.runtime == "onnxruntime":
        if args.mode != "infer" or args.memory_format != "nchw":
            p.error("--runtime onnxruntime times inference of the NCHW export only")
        step, versions = onnxruntime_step(args, resolution)
        device = "onnxruntime-cpu"
    else:
        step, versions = torch_step(args, resolution)
        device = "torch-cpu" if args.memory_format == "nchw" else "torch-cpu-channels-last"
    n = args.batch_size

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.iters):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    times.sort()
    median = times[len(times) // 2]
    report = {
        "model": args.model,
        "mode": args.mode,
        "device": device,
        "batch_size": n,
        "resolution": resolution,
        "iters": args.iters,
        "median_s": median,
        "min_s": times[0],
        "max_s": times[-1],
        "images_per_second": n / median,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": args.threads,
        **versions,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.model} {args.mode} batch {n} at {resolution} px on {device}: "
            f"{report['images_per_second']:.1f} images/s (median {median * 1e3:.1f} ms), "
            f"peak RSS {report['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
