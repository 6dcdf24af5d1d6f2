#!/usr/bin/env python3
"""Writes scikit-learn's 1,797 handwritten digits as a class-folder dataset (dev-only).

    pip download scikit-learn --no-deps -d /tmp/sk
    unzip -j /tmp/sk/scikit_learn-*.whl 'sklearn/datasets/data/digits.csv.gz' -d /tmp/sk
    python3 scripts/make_digits.py /tmp/sk/digits.csv.gz digits

gives digits/train/<0..9>/*.png (1,438 images) and digits/val/<0..9>/*.png (359: every fifth
image), 8x8 greyscale PNGs scaled from the 0-16 range to 0-255. Standard library only.
"""

import csv
import gzip
import os
import struct
import sys
import zlib


def png(width, height, rows):
    """An 8-bit greyscale PNG of `rows` (lists of 0-255 ints)."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main(source, out):
    with gzip.open(source, "rt") as f:
        rows = [list(map(float, r)) for r in csv.reader(f) if r]
    for i, row in enumerate(rows):
        pixels, label = row[:64], int(row[64])
        split = "val" if i % 5 == 4 else "train"
        folder = os.path.join(out, split, str(label))
        os.makedirs(folder, exist_ok=True)
        image = [[round(v * 255 / 16) for v in pixels[y * 8:(y + 1) * 8]] for y in range(8)]
        with open(os.path.join(folder, f"{i:04d}.png"), "wb") as f:
            f.write(png(8, 8, image))
    print(f"wrote {len(rows)} images into {out}/train and {out}/val")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
