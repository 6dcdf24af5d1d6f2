"""PyTorch counterpart of `efficientnet bench`: the same measurement in PyTorch eager on CPU.

images/s = batch / median seconds of timed iterations after warm-up; peak RSS of the process.
Inference runs in eval mode under `torch.inference_mode()`; a training step is forward,
cross-entropy, backward and SGD with momentum 0.9 (lr 0.01), as `efficientnet bench --mode train`.

    python scripts/bench_torch.py --model efficientnet_b0 --batch-size 16 --mode infer --json

Models: torchvision's EfficientNet B0-B7 and V2-S/M/L (random weights), else timm by name.
"""

import argparse
import json
import os
import resource
import time

import torch

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
    if name in TORCHVISION:
        import torchvision

        return getattr(torchvision.models, name)(weights=None)
    import timm

    return timm.create_model(name, pretrained=False)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--resolution", type=int)
    p.add_argument("--mode", choices=["infer", "train"], default="infer")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = build(args.model)
    resolution = args.resolution or NATIVE.get(args.model, 224)
    n = args.batch_size
    x = torch.randn(n, 3, resolution, resolution)

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
        "device": "torch-cpu",
        "batch_size": n,
        "resolution": resolution,
        "iters": args.iters,
        "median_s": median,
        "min_s": times[0],
        "max_s": times[-1],
        "images_per_second": n / median,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": args.threads,
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.model} {args.mode} batch {n} at {resolution} px on torch-cpu: "
            f"{report['images_per_second']:.1f} images/s (median {median * 1e3:.1f} ms), "
            f"peak RSS {report['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
