#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/TARGET) from the repository's Blosc test vectors and from
# small files written by this project's own `mrcz` binary. Never reads ../shared.
#
# Usage: fuzz/seed.sh            (MRCZ_BIN=path/to/mrcz to use an existing binary)
set -euo pipefail
if [ -n "${MRCZ_BIN:-}" ]; then  # make a relative path absolute before changing folder
  MRCZ_BIN="$(cd "$(dirname "$MRCZ_BIN")" && pwd)/$(basename "$MRCZ_BIN")"
  export MRCZ_BIN
fi
cd "$(dirname "$0")"
ROOT=$(cd .. && pwd)
VECTORS="$ROOT/tests/data/vectors"
CORPUS=corpus
mkdir -p "$CORPUS"/{header,chunk,file,metadata,roundtrip}

MRCZ_BIN=${MRCZ_BIN:-$ROOT/target/release/mrcz}
if [ ! -x "$MRCZ_BIN" ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin mrcz)
fi

# --- chunk: every vector chunk up to 64 KiB (files, and hex rows of vectors.tsv) ---
find "$VECTORS" -name '*.blosc' -size -65k -exec cp {} "$CORPUS/chunk/" \;
# Columns: name, ..., chunk (6th) as hex or @file.
grep -v '^#' "$VECTORS/vectors.tsv" | tail -n +2 | cut -f1,6 | while IFS=$'\t' read -r name hex; do
  case "$hex" in
    @*|'') continue ;;
  esac
  [ ${#hex} -le 131072 ] || continue
  printf '%s' "$hex" | xxd -r -p > "$CORPUS/chunk/$name.blosc"
done

# --- file: small movies of every codec, shuffle, byte order, block size and several modes ---
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$MRCZ_BIN" demo --frames 3 --size 32 --threads 1 --keep "$work/demo" > /dev/null
plain="$work/demo/movie-none.mrc"
cp "$work"/demo/*.mrc* "$CORPUS/file/"

# Same bytes reinterpreted as other modes: patch MODE (byte 12) and NX (byte 0).
patch_i32() {  # file offset value (little-endian)
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(( $3 & 255 )) $(( ($3 >> 8) & 255 )) \
    $(( ($3 >> 16) & 255 )) $(( ($3 >> 24) & 255 )))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for spec in "1 16 int16" "2 8 float32" "6 16 uint16" "12 16 float16" "4 4 complex64"; do
  set -- $spec
  f="$work/mode-$3.mrc"
  cp "$plain" "$f"
  patch_i32 "$f" 12 "$1"
  patch_i32 "$f" 0 "$2"
  cp "$f" "$CORPUS/file/"
  "$MRCZ_BIN" compress -q --threads 1 --codec zstd --shuffle byte --block-size 256 \
    "$f" "$CORPUS/file/mode-$3.mrcz"
done
i=0
for codec in zstd lz4 zlib blosclz; do
  for shuffle in bit byte none; do
    i=$((i + 1))
    endian=little; meta=json; block=128
    [ $((i % 2)) -eq 0 ] && endian=big
    [ $((i % 3)) -eq 0 ] && meta=msgpack
    [ $((i % 4)) -eq 0 ] && block=4096
    "$MRCZ_BIN" compress -q --threads 1 --codec "$codec" --shuffle "$shuffle" --level 5 \
      --endian "$endian" --metadata "$meta" --block-size "$block" \
      "$plain" "$CORPUS/file/$codec-$shuffle-$endian-$meta-$block.mrcz"
  done
done
"$MRCZ_BIN" decompress -q --threads 1 --endian big "$CORPUS/file/zstd-bit-little-json-128.mrcz" \
  "$CORPUS/file/plain-big.mrc"

# --- header: the first 1024 bytes of every file ---
for f in "$CORPUS"/file/*; do
  head -c 1024 "$f" > "$CORPUS/header/$(basename "$f").hdr"
done

# --- metadata: the extended headers of the little-endian files, and hand-written documents ---
for f in "$CORPUS"/file/*; do
  # Inputs the fuzzer saved in earlier runs can be shorter than a header.
  [ "$(wc -c < "$f")" -ge 1024 ] || continue
  n=$(od -An -t d4 -j 92 -N 4 "$f" | tr -d ' ')
  if [ "$n" -gt 0 ] && [ "$n" -lt 65536 ]; then
    tail -c +1025 "$f" | head -c "$n" > "$CORPUS/metadata/$(basename "$f").ext"
  fi
done
printf '%s' '{"voltage": 300.0, "C3": 2.7, "gain": NaN, "dose": [1, 2, Infinity, -Infinity]}' \
  > "$CORPUS/metadata/nonfinite.json"
printf '%s' '{"a": {"b": [null, true, false, "\u00e9\ud83d\ude00", 1e300, -0.0, 18446744073709551615]}}' \
  > "$CORPUS/metadata/nested.json"
printf '%s' '[]' > "$CORPUS/metadata/empty-list.json"

# --- roundtrip: four parameter bytes (codec, level + 10 * shuffle, typesize, block size / 64)
# before the pixels of the plain demo movie: zstd bitshuffle of 8-bit counts as MRCZ writes
# them, then other codecs and shuffles over the same bytes read as wider elements ---
for params in '\x04\x15\x00\x00' '\x04\x15\x00\x02' '\x01\x0b\x01\x04' '\x03\x19\x03\x10' \
  '\x00\x05\x07\x00' '\x02\x13\xf3\x01'; do
  { printf "$params"; dd if="$plain" bs=1024 skip=1 count=8 status=none; } \
    > "$CORPUS/roundtrip/demo-$(printf "$params" | od -An -tx1 | tr -d ' \n')"
done

for t in header chunk file metadata roundtrip; do
  echo "seeded $t: $(ls "$CORPUS/$t" | wc -l) inputs"
done
