#!/usr/bin/env bash
# Side-by-side benchmark against python-mrcz 0.6.0 (c-blosc) on this machine: builds the release
# binary, makes a venv with the reference implementation, generates the synthetic movies, and
# prints the comparison table (see benches/peer.py). Extra arguments go to peer.py, e.g.
#   benches/peer.sh --frames 20 --size 4096 --repeat 3
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mrcz
VENV="${MRCZ_VENV_DIR:-target/venv}/blosc1"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check mrcz==0.6.0 blosc numpy mrcfile
fi
WORK="${MRCZ_PEER_DIR:-target/peer}"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo "build: $(rustc --version); RUSTFLAGS='${RUSTFLAGS:-}'"
"$VENV/bin/python" benches/peer.py target/release/mrcz "$WORK" "$@"
