"""Hostile inputs for the hardening tests and fuzz seeds (tests/fixtures/hostile, fuzz/seeds).

Needs only the Python standard library; the PyTorch files are written by hand (a zip or a raw
pickle whose objects name torch's rebuild functions), so their metadata can lie.

    python3 scripts/make_hostile_fixtures.py
"""

import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
IMAGES = ROOT / "tests" / "fixtures" / "images"
SEEDS = ROOT / "fuzz" / "seeds" / "weights"

# What the evil pickles try to run; the tests check that this file never appears.
MARKER = "/tmp/efficientnet-pickle-executed"


# --- Stand-ins for the torch objects a state dict pickle names --------------------------------

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called: only pickled")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


class HalfStorage:
    pass


FloatStorage.__module__ = HalfStorage.__module__ = "torch"
torch.FloatStorage, torch.HalfStorage, torch._utils = FloatStorage, HalfStorage, torch_utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, torch_utils


class Storage:
    def __init__(self, key, kind, numel):
        self.key, self.kind, self.numel = key, kind, numel


class Tensor:
    """A tensor of `shape` over storage `key` (whatever the storage really holds)."""

    def __init__(self, key, shape, numel=None, kind=FloatStorage):
        stride, step = [], 1
        for size in reversed(shape):
            stride.insert(0, step)
            step *= size
        self.storage = Storage(key, kind, step if numel is None else numel)
        self.shape, self.stride = tuple(shape), tuple(stride)

    def __reduce__(self):
        args = (self.storage, 0, self.shape, self.stride, False, collections.OrderedDict())
        return (_rebuild_tensor_v2, args)


class StateDictPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def state_dict_pickle(state):
    buffer = io.BytesIO()
    StateDictPickler(buffer, protocol=2).dump(state)
    return buffer.getvalue()


def torch_zip(path, pickled, storages):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/version", "3\n")
        for key, data in storages.items():
            z.writestr(f"archive/data/{key}", data)


class Evil:
    """Unpickling this runs a shell command: what a malicious .pth does."""

    def __reduce__(self):
        import os

        return (os.system, (f"touch {MARKER}",))


# --- Safetensors and PNG by hand --------------------------------------------------------------


def safetensors_file(path, header, data):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def png(path, width, height, colour_type, rows):
    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    channels = {2: 3, 6: 4}[colour_type]
    raw = b"".join(b"\x00" + bytes(width * channels) for _ in range(rows))
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def gradient_png(width, height):
    """An RGB PNG of a smooth gradient: red across, green down, blue constant."""
    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00"
        + bytes(v for x in range(width) for v in (x * 255 // (width - 1), y * 255 // (height - 1), 96))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def damaged_images():
    """Images cut short or with a flipped bit: decoders may return a partial picture for these."""
    whole = gradient_png(64, 48)
    (HOSTILE / "truncated.png").write_bytes(whole[:-12])  # no IEND chunk
    damaged = bytearray(whole)
    idat = whole.index(b"IDAT")
    length = struct.unpack(">I", whole[idat - 4 : idat])[0]
    damaged[idat + 4 + length // 2] ^= 0x01  # one bit of the IDAT data flipped, CRC kept
    (HOSTILE / "bad_crc.png").write_bytes(bytes(damaged))
    photo = (IMAGES / "chelsea.jpg").read_bytes()
    (HOSTILE / "truncated.jpg").write_bytes(photo[: len(photo) // 2])  # cut inside the scan


def main():
    HOSTILE.mkdir(parents=True, exist_ok=True)
    SEEDS.mkdir(parents=True, exist_ok=True)

    # Pickles that try to execute code, in the zip and in the legacy (raw pickle) container.
    evil = {"features.0.0.weight": Evil()}
    torch_zip(HOSTILE / "evil_zip.pth", pickle.dumps(evil, protocol=2), {})
    (HOSTILE / "evil_legacy.pth").write_bytes(pickle.dumps(evil, protocol=2))

    # Shapes that overflow or claim far more data than the file holds.
    huge = {"features.0.0.weight": Tensor("0", [1 << 21, 1 << 21, 1 << 21], numel=4)}
    torch_zip(HOSTILE / "huge_shape.pth", state_dict_pickle(huge), {"0": bytes(16)})
    lying = {"features.0.0.weight": Tensor("0", [1 << 20, 1 << 20])}
    torch_zip(HOSTILE / "lying_storage.pth", state_dict_pickle(lying), {"0": bytes(16)})
    safetensors_file(
        HOSTILE / "huge_shape.safetensors",
        {"w": {"dtype": "F32", "shape": [1 << 62, 4], "data_offsets": [0, 16]}},
        bytes(16),
    )

    # Images whose header claims more than the limits allow (the pixel data is a few rows).
    png(HOSTILE / "huge_side.png", 100_000, 100_000, 2, 2)  # side over 16384
    png(HOSTILE / "bomb.png", 16_000, 16_000, 6, 4)  # 1 GiB of RGBA over the 512 MiB cap
    damaged_images()

    # Small, valid weight files as fuzzing seeds (zip and legacy PyTorch, safetensors, f16).
    weight = struct.pack("<54f", *[i / 54 for i in range(54)])
    state = {
        "features.0.0.weight": Tensor("0", [2, 3, 3, 3]),
        "classifier.1.bias": Tensor("1", [4]),
    }
    storages = {"0": weight, "1": struct.pack("<4f", 0.1, 0.2, 0.3, 0.4)}
    torch_zip(SEEDS / "small_zip.pth", state_dict_pickle(state), storages)
    half = {"classifier.1.weight": Tensor("0", [2, 2], kind=HalfStorage)}
    torch_zip(SEEDS / "small_f16.pth", state_dict_pickle(half), {"0": bytes(8)})
    safetensors_file(
        SEEDS / "small.safetensors",
        {
            "features.0.0.weight": {"dtype": "F32", "shape": [2, 3, 3, 3], "data_offsets": [0, 216]},
            "classifier.1.bias": {"dtype": "F16", "shape": [4], "data_offsets": [216, 224]},
        },
        weight + bytes(8),
    )
    print(f"wrote {HOSTILE} and {SEEDS}")


if __name__ == "__main__":
    main()
