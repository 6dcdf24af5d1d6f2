#!/usr/bin/env python3
"""Write tests/fixtures/images/odd/: small synthetic images for the image-decoder tests.

Every file comes from one deterministic picture, BASE (24 wide x 16 high, RGB):
  * a horizontal grey gradient: pixel (x, y) = (v, v, v) with v = 128 + round(127 * x / 23),
    so column 0 is 128 and column 23 is 255;
  * a pure red (255, 0, 0) 4x4 block in the top-left corner (x 0..3, y 0..3), so
    orientation and mirroring can be checked.

Files (all synthetic, CC0):
  cmyk.jpg            BASE.convert('CMYK') as a CMYK JPEG (Adobe APP14 marker, inverted CMYK as
                      Pillow/Photoshop write it); decodes to 24x16
  exif_rotate90.jpg   RGB JPEG stored 16 wide x 24 high (BASE rotated 90 deg counter-clockwise; the red
                      block sits at the stored bottom-left, x 0..3, y 20..23) with EXIF Orientation = 6
                      ("rotate 90 CW to display"); displayed correctly it is BASE again: 24x16, red
                      block top-left
  gray.png            BASE.convert('L') (red block -> 76, gradient 128..255)
  gray16.png          16-bit greyscale (mode I;16), gray.png's values * 257
  rgba.png            BASE with alpha 255 in rows 0..7 and 128 in rows 8..15
  palette.png         mode P, exact: palette index x = gradient column x, index 24 = red
  image.webp          lossless WebP of BASE (decodes exactly to BASE)
  png_named.jpg       a PNG of BASE saved under a .jpg name (content sniffing test)
  truncated.jpg       the first half (floor(n/2) bytes) of a valid RGB JPEG of BASE
  not_an_image.jpg    a short text file

JPEGs are quality 95 without chroma subsampling, so the 4x4 red block stays red.
Usage: python scripts/make_image_fixtures.py   (needs Pillow with WebP support, numpy)
"""
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images" / "odd"
W, H, BLOCK = 24, 16, 4
RED = (255, 0, 0)
JPEG = dict(quality=95, subsampling=0)


def gradient_values():
    return [128 + round(127 * x / (W - 1)) for x in range(W)]


def base():
    arr = np.zeros((H, W, 3), np.uint8)
    for x, v in enumerate(gradient_values()):
        arr[:, x, :] = v
    arr[:BLOCK, :BLOCK] = RED
    return Image.fromarray(arr)  # uint8 HxWx3 -> RGB


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    img = base()

    img.convert("CMYK").save(OUT / "cmyk.jpg", **JPEG)

    # Stored = BASE rotated 90 deg counter-clockwise (16x24); Orientation 6 rotates it back
    # 90 deg clockwise for display, giving BASE.
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    img.transpose(Image.Transpose.ROTATE_90).save(OUT / "exif_rotate90.jpg", exif=exif.tobytes(), **JPEG)

    gray = img.convert("L")
    gray.save(OUT / "gray.png", optimize=True)
    g16 = np.asarray(gray, np.uint16) * 257
    Image.frombytes("I;16", (W, H), g16.astype("<u2").tobytes()).save(OUT / "gray16.png")

    rgba = img.copy()
    alpha = np.full((H, W), 255, np.uint8)
    alpha[H // 2:] = 128
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(OUT / "rgba.png", optimize=True)

    idx = np.tile(np.arange(W, dtype=np.uint8), (H, 1))
    idx[:BLOCK, :BLOCK] = W
    pal = Image.frombytes("P", (W, H), idx.tobytes())
    palette = [c for v in gradient_values() for c in (v, v, v)] + list(RED)
    pal.putpalette(palette)
    pal.save(OUT / "palette.png", optimize=True)

    img.save(OUT / "image.webp", lossless=True)
    img.save(OUT / "png_named.jpg", format="PNG", optimize=True)

    full = OUT / "full.tmp.jpg"
    img.save(full, **JPEG)
    data = full.read_bytes()
    full.unlink()
    (OUT / "truncated.jpg").write_bytes(data[: len(data) // 2])

    (OUT / "not_an_image.jpg").write_text("This is not an image; it is a text file with a .jpg name.\n")

    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size:>6}  {p.relative_to(OUT.parent.parent.parent.parent)}")


if __name__ == "__main__":
    main()
