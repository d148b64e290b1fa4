#!/usr/bin/env bash
# Fuzzes each cargo-fuzz target for a bounded time; exits non-zero on a crash (a panic, an
# overflow, an out-of-bounds access, a timeout, or a single allocation over the limit).
#
#   fuzz/run.sh                    all targets, FUZZ_SECONDS (default 30) each
#   FUZZ_SECONDS=300 fuzz/run.sh file chunk
#
# Installs cargo-fuzz when missing (stable Rust runs it with RUSTC_BOOTSTRAP=1), seeds the
# corpora (fuzz/seed.sh), builds once with debug assertions (integer overflow checks) and
# runs each target. Crashing inputs land in fuzz/artifacts/TARGET/; reproduce one with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run -a TARGET fuzz/artifacts/TARGET/crash-...`.
set -euo pipefail
if [ -n "${MRCZ_BIN:-}" ]; then  # make a relative path absolute before changing folder
  MRCZ_BIN="$(cd "$(dirname "$MRCZ_BIN")" && pwd)/$(basename "$MRCZ_BIN")"
  export MRCZ_BIN
fi
cd "$(dirname "$0")"
SECS=${FUZZ_SECONDS:-30}
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=(header chunk file metadata roundtrip); fi

if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
start=$(date +%s)

echo "== seeding corpora"
./seed.sh

echo "== building fuzz targets"
cargo fuzz build -a

# Inputs beyond these sizes add nothing the smaller ones cannot reach. Any single allocation
# over 64 MiB is a finding: every target runs with limits of at most 1 MiB per frame or chunk.
max_len() {
  case "$1" in
    header) echo 2048 ;;
    metadata) echo 8192 ;;
    *) echo 65536 ;;
  esac
}
mkdir -p target
for t in "${TARGETS[@]}"; do
  echo "== fuzzing $t for ${SECS}s"
  log="target/fuzz-$t.log"
  if ! cargo fuzz run -a "$t" "corpus/$t" -- \
    -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $t failed; the crashing input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' "$log" || true
done
echo "== fuzzing done in $(( $(date +%s) - start ))s"
