#!/usr/bin/env python3
"""Interoperability checks between this project's `mrcz` binary and python-mrcz 0.6.0.

Run with a venv holding `mrcz==0.6.0 blosc numpy mrcfile` (and optionally `blosc2`):

    python interop/check.py path/to/mrcz-binary

For every dtype x codec x frame count it checks both directions:
  * python-mrcz writes (with JSON metadata) -> `mrcz decompress` + `mrcz info --json` read the same
    pixels, shape and metadata;
  * `mrcz compress` writes -> python-mrcz `readMRC` returns the same pixels and metadata, and every
    chunk decodes with `blosc.decompress` (and `blosc2.decompress` when installed) to the frame's
    bytes.
Plain output of `mrcz decompress` (no metadata) must pass mrcfile's validate().
Prints one line per failure and a closing 'N passed, N failed' line; exits 1 on any failure.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import contextlib

import numpy as np
import mrcz
import mrcfile
import blosc

try:
    import blosc2
except ImportError:  # the second CI pass runs without it
    blosc2 = None

BIN = os.path.abspath(sys.argv[1])
PASSED = 0
FAILED = []


def check(name, cond, detail=""):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILED.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", flush=True)


def run(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)


def make_data(dtype, frames, ny, nx, seed):
    rng = np.random.default_rng(seed)
    shape = (frames, ny, nx)
    if dtype == "int8":
        return rng.poisson(1.5, shape).clip(0, 127).astype(np.int8)
    if dtype == "int16":
        return rng.integers(-3000, 3000, shape, dtype=np.int16)
    if dtype == "uint16":
        return rng.poisson(40.0, shape).astype(np.uint16)
    if dtype == "float32":
        return (rng.standard_normal(shape) * 10 + 100).astype(np.float32)
    if dtype == "complex64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    raise ValueError(dtype)


def walk_chunks(path):
    """(offset, bytes) of each Blosc chunk, found by cbytes as python-mrcz does."""
    with open(path, "rb") as f:
        buf = f.read()
    nz = int(np.frombuffer(buf, "<i4", 1, 8)[0])
    nsymbt = int(np.frombuffer(buf, "<i4", 1, 92)[0])
    pos = 1024 + nsymbt
    out = []
    for _ in range(nz):
        cbytes = int(np.frombuffer(buf, "<u4", 1, pos + 12)[0])
        out.append(buf[pos : pos + cbytes])
        pos += cbytes
    return out, pos == len(buf)


def read_plain(path):
    with mrcfile.open(path, permissive=True) as m:
        return np.array(m.data)


def python_reads(path):
    with contextlib.redirect_stdout(io.StringIO()):
        img, hdr = mrcz.readMRC(path)
    if isinstance(img, list):
        img = np.stack(img)
    return img, hdr


META = {"experiment": "interop", "dose": 1.25, "tags": ["a", "b"], "nested": {"k": [1, 2, 3]}}


def python_to_rust(tmp, dtype, codec, frames, ny, nx):
    name = f"py->rs {dtype} {codec} {frames}f {nx}x{ny}"
    data = make_data(dtype, frames, ny, nx, 1)
    src = os.path.join(tmp, "py.mrcz")
    mrcz.writeMRC(data, src, meta=dict(META), pixelsize=[1.5, 1.25, 1.25], compressor=codec,
                  clevel=1, voltage=300.0, C3=2.7, gain=1.0)
    info = run("info", src, "--json")
    check(name + " info exit", info.returncode == 0, info.stderr)
    if info.returncode != 0:
        return
    v = json.loads(info.stdout)
    check(name + " info shape", (v["nx"], v["ny"], v["nz"], v["frames"]) == (nx, ny, frames, frames), v)
    check(name + " info codec", v["codec"] == codec, v["codec"])
    check(name + " info metadata", all(v["metadata"].get(k) == val for k, val in META.items()), v["metadata"])
    check(name + " info voxel", np.allclose(v["voxel_size"], [1.25, 1.25, 1.5]), v["voxel_size"])
    out = os.path.join(tmp, "rs.mrc")
    r = run("decompress", src, out, "--quiet")
    check(name + " decompress exit", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        back = read_plain(out).reshape(data.shape)
        check(name + " pixels", back.dtype == data.dtype and np.array_equal(back, data), "pixels differ")
        # And our plain file reads identically in python-mrcz.
        img, hdr = python_reads(out)
        check(name + " plain via python-mrcz", np.array_equal(img.reshape(data.shape), data), "differs")
        check(name + " plain metadata via python-mrcz", hdr.get("experiment") == "interop", "meta lost")


def rust_to_python(tmp, dtype, codec, frames, ny, nx):
    name = f"rs->py {dtype} {codec} {frames}f {nx}x{ny}"
    data = make_data(dtype, frames, ny, nx, 2)
    plain = os.path.join(tmp, "in.mrc")
    # A plain MRC with JSON metadata, written by python-mrcz itself.
    mrcz.writeMRC(data, plain, meta=dict(META), pixelsize=[2.0, 1.5, 1.5], compressor=None,
                  voltage=200.0, C3=2.7, gain=1.0)
    out = os.path.join(tmp, "rs.mrcz")
    r = run("compress", plain, out, "--codec", codec, "--quiet")
    check(name + " compress exit", r.returncode == 0, r.stderr)
    if r.returncode != 0:
        return
    img, hdr = python_reads(out)
    img = img.reshape(data.shape)
    check(name + " pixels", img.dtype == data.dtype and np.array_equal(img, data), "pixels differ")
    check(name + " metadata", all(hdr.get(k) == val for k, val in META.items()), {k: hdr.get(k) for k in META})
    check(name + " pixelsize", np.allclose(hdr["pixelsize"], [2.0, 1.5, 1.5]), hdr["pixelsize"])
    check(name + " voltage", abs(hdr["voltage"] - 200.0) < 1e-3, hdr["voltage"])
    check(name + " compressor", hdr["compressor"] == codec, hdr["compressor"])
    chunks, ends_at_eof = walk_chunks(out)
    check(name + " chunk chain", len(chunks) == frames and ends_at_eof, f"{len(chunks)} chunks")
    check(name + " packedBytes", hdr["packedBytes"] == sum(map(len, chunks)), hdr["packedBytes"])
    if dtype == "int8" and codec == "zstd" and nx * ny >= 1 << 20:
        # Noise bit planes go into literal-only zstd frames: each of the 2 blocks' streams is
        # several frames (one frame each would make 2 magic numbers per chunk).
        check(name + " streams of several zstd frames",
              all(c.count(b"\x28\xb5\x2f\xfd") >= 4 for c in chunks), "one frame per stream")
    for z, c in enumerate(chunks):
        want = data[z].tobytes()
        check(f"{name} frame {z} blosc.decompress", blosc.decompress(c) == want, "chunk differs")
        if blosc2 is not None:
            check(f"{name} frame {z} blosc2.decompress", bytes(blosc2.decompress(c)) == want, "chunk differs")
    with mrcfile.open(out, permissive=True, header_only=True) as m:
        vs = m.voxel_size
        check(name + " mrcfile voxel x,y", np.isclose(vs.x, 1.5) and np.isclose(vs.y, 1.5), vs)


def validate_plain(tmp, dtype):
    name = f"validate {dtype}"
    data = make_data(dtype, 3, 40, 56, 3)
    src = os.path.join(tmp, "v.mrcz")
    mrcz.writeMRC(data, src, compressor="zstd")  # no metadata
    out = os.path.join(tmp, "v.mrc")
    r = run("decompress", src, out, "--quiet")
    check(name + " decompress exit", r.returncode == 0, r.stderr)
    buf = io.StringIO()
    ok = mrcfile.validate(out, print_file=buf)
    check(name + " mrcfile.validate", ok, buf.getvalue().strip().replace("\n", " | "))


def rust_reads_same(name, path, data):
    """`mrcz decompress` of `path` gives exactly `data` (compared as little-endian values)."""
    out = path + ".plain.mrc"
    r = run("decompress", path, out, "--quiet")
    check(name + " decompress exit", r.returncode == 0, r.stderr.strip())
    if r.returncode == 0:
        back = read_plain(out)
        want = data.astype(data.dtype.newbyteorder("=")) if data.dtype.byteorder == ">" else data
        check(name + " pixels", back.shape == want.shape and np.array_equal(back, want), "pixels differ")
        os.remove(out)
    return r


def blosc2_backend(tmp):
    """python-mrcz 0.6 with backend='blosc2' writes version-5 chunks (byte-SHUFFLEd)."""
    for codec in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
        for dtype in ["int8", "uint16", "float32", "complex64"]:
            name = f"blosc2-backend {dtype} {codec}"
            data = make_data(dtype, 3, 64, 80, 4)
            path = os.path.join(tmp, "b2.mrcz")
            # 1 thread: blocksize = min(65536, NX*NY) is a multiple of every typesize here.
            mrcz.writeMRC(data, path, meta=dict(META), compressor=codec, backend="blosc2", n_threads=1)
            raw = open(path, "rb").read()
            first_chunk = 1024 + int(np.frombuffer(raw, "<i4", 1, 92)[0])
            check(name + " is version 5", raw[first_chunk] == 5, f"version byte {raw[first_chunk]}")
            rust_reads_same(name, path, data)


def blosc2_corrupt(tmp):
    """c-blosc2 3.3.5 writes inconsistent chunks when the blocksize is not a multiple of typesize
    (spec/mrcz.md 6.5): we must report an error naming the frame, never return wrong pixels."""
    for shape, threads in [((1, 256, 256), 3), ((2, 30, 30), 4)]:
        name = f"blosc2-corrupt {shape} {threads} threads"
        data = make_data("float32", *shape, 5)
        path = os.path.join(tmp, "b2bad.mrcz")
        mrcz.writeMRC(data, path, compressor="lz4", backend="blosc2", n_threads=threads)
        out = path + ".plain.mrc"
        r = run("decompress", path, out, "--quiet")
        check(name + " rejected", r.returncode == 1 and "frame 0" in r.stderr, r.stderr.strip() or "accepted")
        check(name + " no output", not os.path.exists(out), "partial output left")


def big_endian(tmp):
    """Big-endian files from python-mrcz (endian='be') read correctly, plain and compressed, and
    our --endian big output reads in python-mrcz with endian='be'."""
    for dtype in ["int8", "int16", "uint16", "float32", "complex64"]:
        for codec in [None, "zstd", "lz4", "zlib", "blosclz"]:
            name = f"big-endian {dtype} {codec}"
            data = make_data(dtype, 2, 32, 48, 6)
            path = os.path.join(tmp, "be.mrc")
            mrcz.writeMRC(data, path, compressor=codec, endian="be")
            info = json.loads(run("info", path, "--json").stdout or "{}")
            check(name + " detected big-endian", info.get("endian") == "big", info.get("endian"))
            rust_reads_same(name, path, data)
            if codec is None:
                continue
            # Ours, big-endian, read by python-mrcz told endian='be'.
            plain = os.path.join(tmp, "le.mrc")
            mrcz.writeMRC(data, plain, compressor=None)
            ours = os.path.join(tmp, "ours-be.mrcz")
            r = run("compress", plain, ours, "--codec", codec, "--endian", "big", "--quiet")
            check(name + " compress --endian big", r.returncode == 0, r.stderr)
            with contextlib.redirect_stdout(io.StringIO()):
                img, _ = mrcz.readMRC(ours, endian="be")
            img = np.asarray(img).reshape(data.shape)
            check(name + " python-mrcz reads ours", np.array_equal(img, data), "pixels differ")


def legacy(tmp):
    """Files of python-mrcz < 0.5 (dimensions in MX/MY/MZ, label version < 0.5.0) and < 0.6
    (lz4hc written with id 2)."""
    data = make_data("uint16", 3, 40, 56, 7)
    path = os.path.join(tmp, "legacy.mrcz")
    mrcz.writeMRC(data, path, compressor="lz4hc")
    raw = bytearray(open(path, "rb").read())
    raw[28:40] = np.array([56, 40, 3], "<i4").tobytes()       # MX, MY, MZ = NX, NY, NZ
    raw[224:304] = b"MRCZ0.4.1".ljust(80, b"\0")
    raw[12:16] = np.array([6 + 2000], "<i4").tobytes()         # lz4hc under id 2
    open(path, "wb").write(bytes(raw))
    info = json.loads(run("info", path, "--json").stdout or "{}")
    check("legacy label version", info.get("mrcz_version") == "0.4.1", info.get("mrcz_version"))
    # python-mrcz's default pixel size is 0.1 A; legacy files divide CELLA by MX = NX etc.
    check("legacy voxel size", np.allclose(info.get("voxel_size", [0, 0, 0]), [0.1, 0.1, 0.1]), info.get("voxel_size"))
    rust_reads_same("legacy 0.4.1 + lz4hc as id 2", path, data)


def main():
    print(f"python-mrcz {mrcz.__version__}, blosc {blosc.__version__}, "
          f"blosc2 {blosc2.__version__ if blosc2 else 'not installed'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ["int8", "int16", "uint16", "float32", "complex64"]:
            for codec in ["zstd", "lz4", "zlib"]:
                for frames in [1, 3]:
                    python_to_rust(tmp, dtype, codec, frames, 48, 64)
                    rust_to_python(tmp, dtype, codec, frames, 48, 64)
        # Frames with several Blosc blocks and a leftover block, and every codec the CLI offers.
        for codec in ["zstd", "lz4", "lz4hc", "zlib", "blosclz"]:
            rust_to_python(tmp, "float32", codec, 2, 700, 520)
            rust_to_python(tmp, "int8", codec, 2, 1500, 1000)
        for dtype in ["int8", "int16", "uint16", "float32"]:
            validate_plain(tmp, dtype)
        big_endian(tmp)
        legacy(tmp)
        if blosc2 is not None:
            blosc2_backend(tmp)
            blosc2_corrupt(tmp)
    print(f"interop: {PASSED} passed, {len(FAILED)} failed", flush=True)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
