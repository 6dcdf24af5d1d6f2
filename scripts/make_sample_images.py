#!/usr/bin/env python3
"""Write tests/fixtures/images/{chelsea,coffee}.jpg from scikit-image's bundled sample data.

Both photos are CC0 ("No copyright restrictions", per the docstrings of skimage.data.chelsea
and skimage.data.coffee). Saved at their original size as JPEG quality 90 (Pillow defaults
otherwise, i.e. 4:2:0 chroma subsampling).
"""
from pathlib import Path

import skimage.data
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("chelsea", "coffee"):
        arr = getattr(skimage.data, name)()
        Image.fromarray(arr).save(OUT / f"{name}.jpg", quality=90)
        print(f"{name}: {arr.shape} -> {OUT / (name + '.jpg')}")
