#!/usr/bin/env python3
"""Side-by-side benchmark: this project's `mrcz` binary against python-mrcz 0.6.0 (c-blosc).

Same input files, same machine, same run, 2 threads on both sides, file to file:
  * compress:   plain MRC  -> MRCZ   (python: readMRC + writeMRC(compressor=...) + fsync)
  * decompress: MRCZ       -> plain  (both sides read python-mrcz's MRCZ file; + fsync)
Our binary fsyncs its output before renaming it into place, so python's side fsyncs too.

Inputs (generated once into the work folder): 8-bit Poisson movies at 0.1, 1 and 4 counts per
pixel, and a float32 gain-normalised movie (1 count/pixel x a fixed gain map ~ N(1, 0.05)).
Each timing is the median of --repeat runs with a warm page cache. The runs of the two sides
(and of the write floor below) alternate, one of each per round, the side going first switching
every round, so that both meet the disk in the same state; the disk's speed drifts within a
minute on the benchmark machine. Memory is the maximum resident set size from /usr/bin/time -v.

Decompress ends writing the whole plain movie to disk, which bounds any program's speed. The
"bound" column measures that in the same rounds: our binary copying the plain input to a plain
output (same writer, fsync, no decoding) is the floor; python-mrcz's decompress time over that
floor is the largest speed ratio any decoder could reach against it on this disk.

Every timed run writes a new output file: the previous round's output is removed (and the removal
synced) before the run starts, outside the timed region (see `fresh`; `--replace` overwrites
instead, as before session 9).

Usage: python benches/peer.py BINARY WORKDIR [--frames 20] [--size 4096] [--repeat 3] [--threads 2]
       [--codecs zstd,lz4,zlib] [--replace]
Prints a Markdown table on stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import mrcz

PEER_SCRIPT = r"""
import os, sys, time, json, contextlib, io
import mrcz
op, src, dst, codec, threads = sys.argv[1:6]
threads = int(threads)
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    img, hdr = mrcz.readMRC(src, n_threads=threads)
    mrcz.writeMRC(img, dst, compressor=None if codec == 'none' else codec, clevel=1,
                  n_threads=threads, pixelsize=[1.0, 1.0, 1.0])
fd = os.open(dst, os.O_RDONLY); os.fsync(fd); os.close(fd)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def max_rss_kb(cmd):
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed: {out.stderr[-2000:]}")
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1])
    return -1


# Set by --replace: leave each output in place for the next round to overwrite.
REPLACE = False


def fresh(dst):
    """Removes `dst` (outside the timed region) so that every timed run creates its output.

    Replacing a 336 MB file costs the replacing side the freeing of the old file's blocks, 60-80 ms
    on the benchmark machine's ext4 (mounted with `discard`): python-mrcz pays it when it opens the
    old file for writing (truncation), our binary when it renames its finished output over it.
    That is not conversion work, and without this the first round of each case (nothing to
    replace yet) ran under other conditions than the rest. `--replace` keeps the old behaviour."""
    if not REPLACE and os.path.exists(dst):
        os.remove(dst)
        os.sync()


def ours(binary, op, src, dst, codec, threads):
    args = [binary, op, src, dst, "--threads", str(threads), "--quiet"]
    if op == "compress":
        args += ["--codec", codec, "--level", "1"]
    fresh(dst)
    t0 = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - t0, args


def theirs(op, src, dst, codec, threads):
    args = [sys.executable, "-c", PEER_SCRIPT, op, src, dst, codec if op == "compress" else "none", str(threads)]
    fresh(dst)
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"], args


def generate(work, frames, size):
    rng = np.random.default_rng(2024)
    movies = {}
    for dose in [0.1, 1.0, 4.0]:
        path = os.path.join(work, f"poisson-{dose}.mrc")
        if not os.path.exists(path):
            data = rng.poisson(dose, (frames, size, size)).clip(0, 127).astype(np.int8)
            mrcz.writeMRC(data, path, compressor=None, pixelsize=[1.0, 1.0, 1.0])
        movies[f"8-bit, {dose} e/px"] = path
    path = os.path.join(work, "gain-normalised-f32.mrc")
    if not os.path.exists(path):
        gain = rng.normal(1.0, 0.05, (size, size)).astype(np.float32)
        data = np.empty((frames, size, size), np.float32)
        for z in range(frames):
            data[z] = rng.poisson(1.0, (size, size)).astype(np.float32) * gain
        mrcz.writeMRC(data, path, compressor=None, pixelsize=[1.0, 1.0, 1.0])
    movies["float32 gain-normalised"] = path
    return movies


def median_times(fns, repeat):
    """Median time of each of `fns` over `repeat` rounds that run each once, in an order that
    rotates every round."""
    times = [[] for _ in fns]
    for r in range(repeat):
        for k in range(len(fns)):
            i = (k + r) % len(fns)
            t, _ = fns[i]()
            times[i].append(t)
    return [statistics.median(ts) for ts in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("work")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--codecs", default="zstd,lz4,zlib")
    ap.add_argument("--replace", action="store_true",
                    help="overwrite each output in place instead of timing every run on a fresh one")
    args = ap.parse_args()
    global REPLACE
    REPLACE = args.replace
    os.makedirs(args.work, exist_ok=True)
    binary = os.path.abspath(args.binary)
    movies = generate(args.work, args.frames, args.size)
    t = args.threads
    print(f"python-mrcz {mrcz.__version__}; {args.frames} x {args.size} x {args.size}; {t} threads; "
          f"median of {args.repeat}; outputs {'replaced' if REPLACE else 'fresh'}; "
          f"MB = 10^6 bytes of uncompressed data per second")
    print()
    print("| input | codec | op | python-mrcz MB/s | mrcz-rs MB/s | speed ratio | bound | python-mrcz ratio | mrcz-rs ratio | mrcz-rs max RSS MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, src in movies.items():
        raw = os.path.getsize(src) - 1024
        # The write floor: plain input copied to a plain output by our writer (no decoding).
        floor_out = os.path.join(args.work, "floor-out.mrc")
        floors = []
        for codec in args.codecs.split(","):
            py_z = os.path.join(args.work, f"py-{codec}.mrcz")
            rs_z = os.path.join(args.work, f"rs-{codec}.mrcz")
            py_t, rs_t = median_times([
                lambda: theirs("compress", src, py_z, codec, t),
                lambda: ours(binary, "compress", src, rs_z, codec, t),
            ], args.repeat)
            rss = max_rss_kb(ours(binary, "compress", src, rs_z, codec, t)[1]) / 1024
            py_ratio = raw / (os.path.getsize(py_z) - 1024)
            rs_ratio = raw / (os.path.getsize(rs_z) - 1024)
            print(f"| {name} | {codec} | compress | {raw / py_t / 1e6:.0f} | {raw / rs_t / 1e6:.0f} | "
                  f"{py_t / rs_t:.2f} | | {py_ratio:.3f} | {rs_ratio:.3f} | {rss:.0f} |", flush=True)
            py_out = os.path.join(args.work, "py-out.mrc")
            rs_out = os.path.join(args.work, "rs-out.mrc")
            py_t, rs_t, floor_t = median_times([
                lambda: theirs("decompress", py_z, py_out, codec, t),
                lambda: ours(binary, "decompress", py_z, rs_out, codec, t),
                lambda: ours(binary, "decompress", src, floor_out, "none", t),
            ], args.repeat)
            floors.append(f"{codec} {floor_t:.3f} s")
            rss = max_rss_kb(ours(binary, "decompress", py_z, rs_out, codec, t)[1]) / 1024
            print(f"| {name} | {codec} | decompress | {raw / py_t / 1e6:.0f} | {raw / rs_t / 1e6:.0f} | "
                  f"{py_t / rs_t:.2f} | {py_t / floor_t:.2f} | | | {rss:.0f} |", flush=True)
            for p in (py_out, rs_out, rs_z, floor_out):
                os.remove(p)
        print(f"<!-- input {name}: {raw / 1e6:.0f} MB; write floor (in the rounds of each codec's "
              f"decompress) {', '.join(floors)} -->", flush=True)


if __name__ == "__main__":
    main()
