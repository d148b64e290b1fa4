#!/usr/bin/env python3
"""Writes the python-mrcz 0.6.0 fixture files of tests/data/python-mrcz/.

Each `<name>.mrc[z]` is written by python-mrcz; `<name>.expected` holds the pixels it was given,
as little-endian raw bytes, frames back to back; `fixtures.tsv` lists name, dtype, shape, and
whether the file must decode (`ok`) or be rejected (`error`). Needs a venv with
`mrcz==0.6.0 blosc blosc2 numpy`:

    python interop/make_fixtures.py tests/data/python-mrcz
"""
import os
import sys

import numpy as np
import mrcz

OUT = sys.argv[1]
META = {"experiment": "fixture", "dose": 1.25, "nan_value": float("nan")}
rows = []


def data(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "int8":
        return rng.poisson(1.0, shape).clip(0, 127).astype(np.int8)
    if dtype == "int16":
        return rng.integers(-2000, 2000, shape, dtype=np.int16)
    if dtype == "uint16":
        return rng.poisson(30.0, shape).astype(np.uint16)
    if dtype == "float32":
        return (rng.standard_normal(shape) * 5 + 50).astype(np.float32)
    if dtype == "complex64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    raise ValueError(dtype)


def fixture(name, dtype, shape, expect="ok", patch=None, **kw):
    arr = data(dtype, shape, len(rows))
    path = os.path.join(OUT, name)
    mrcz.writeMRC(arr, path, **kw)
    if patch:
        raw = bytearray(open(path, "rb").read())
        patch(raw)
        open(path, "wb").write(bytes(raw))
    arr.astype(arr.dtype.newbyteorder("<")).tofile(path + ".expected")
    rows.append(f"{name}\t{dtype}\t{shape[2]}x{shape[1]}x{shape[0]}\t{expect}")


os.makedirs(OUT, exist_ok=True)
shape = (2, 24, 40)
for codec, dtype in [("zstd", "int8"), ("lz4", "float32"), ("zlib", "uint16"), ("blosclz", "int16"),
                     ("lz4hc", "complex64")]:
    fixture(f"le-{codec}-{dtype}.mrcz", dtype, shape, compressor=codec, meta=dict(META), n_threads=1)
fixture("le-plain-int8-meta.mrc", "int8", shape, compressor=None, meta=dict(META))
# Big-endian: plain and compressed; int8 and blosclz/lz4/zlib defeat python-mrcz's own detection.
for codec, dtype in [(None, "int16"), ("zstd", "float32"), ("lz4", "int8"), ("zlib", "uint16"),
                     ("blosclz", "complex64")]:
    fixture(f"be-{codec or 'plain'}-{dtype}.mrc{'z' if codec else ''}", dtype, shape,
            compressor=codec, endian="be", n_threads=1)
# Blosc2 backend: version-5 chunks, byte-SHUFFLEd.
for codec in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
    fixture(f"b2-{codec}-float32.mrcz", "float32", shape, compressor=codec, backend="blosc2", n_threads=1)
# c-blosc2 3.3.5 blocksize bug: blocksize = (64*64)//3 = 1365 bytes, not a multiple of 4.
fixture("b2-corrupt-float32.mrcz", "float32", (1, 64, 64), expect="error", compressor="lz4",
        backend="blosc2", n_threads=3)
# blocksize 225 for 2 x 30 x 30 float32 with 4 threads: python-mrcz silently returns wrong pixels.
fixture("b2-corrupt-silent-float32.mrcz", "float32", (2, 30, 30), expect="error", compressor="lz4",
        backend="blosc2", n_threads=4)


def legacy(raw):
    raw[28:40] = np.array([40, 24, 2], "<i4").tobytes()      # MX, MY, MZ = NX, NY, NZ
    raw[224:304] = b"MRCZ0.4.1".ljust(80, b"\0")
    raw[12:16] = np.array([2 + 2000], "<i4").tobytes()        # lz4hc under id 2 (mrcz < 0.6)


fixture("legacy-0.4.1-lz4hc-id2-float32.mrcz", "float32", shape, patch=legacy, compressor="lz4hc",
        n_threads=1)

with open(os.path.join(OUT, "fixtures.tsv"), "w") as f:
    f.write("# written by interop/make_fixtures.py with python-mrcz %s\n" % mrcz.__version__)
    f.write("name\tdtype\tshape\texpect\n")
    f.write("\n".join(rows) + "\n")
print(f"{len(rows)} fixtures in {OUT}")
