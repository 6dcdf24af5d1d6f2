#!/usr/bin/env python3
"""Write the sample photos in tests/fixtures/images/ from scikit-image's bundled sample data.

All are CC0 or public domain, per the docstrings of the `skimage.data` functions named below
(quoted in tests/fixtures/images/README.md); needs scikit-image 0.26.0 and Pillow.

- chelsea.jpg, coffee.jpg: saved at their original size as JPEG quality 90 (Pillow defaults
  otherwise, i.e. 4:2:0 chroma subsampling). Written exactly as before the gallery photos
  were added, so the files stay byte-identical.
- The gallery photos (GALLERY): JPEG quality 90, scaled down (Lanczos, aspect kept) so that
  the longest side is at most 640 px; greyscale photos stay 8-bit greyscale JPEGs.
"""
from pathlib import Path

import skimage.data
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"

# `skimage.data` functions; each is written as `<name>.jpg`.
GALLERY = ("astronaut", "rocket", "camera", "clock", "retina", "brick", "hubble_deep_field")
LONGEST_SIDE = 640

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("chelsea", "coffee"):
        arr = getattr(skimage.data, name)()
        Image.fromarray(arr).save(OUT / f"{name}.jpg", quality=90)
        print(f"{name}: {arr.shape} -> {OUT / (name + '.jpg')}")
    for name in GALLERY:
        arr = getattr(skimage.data, name)()
        image = Image.fromarray(arr)
        if max(image.size) > LONGEST_SIDE:
            image.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
        path = OUT / f"{name}.jpg"
        image.save(path, quality=90)
        print(f"{name}: {arr.shape} -> {path} ({image.width}x{image.height} {image.mode})")
