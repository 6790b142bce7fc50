#!/usr/bin/env bash
# Reproduces the benchmark table: sets up a local venv with the tools users
# would pick instead, builds recpipe in release mode, and runs bench.py.
# Usage: bench/run.sh [--scale 20]   (run it on an idle machine)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
fi
# (Re)install when requirements.txt changed since the venv last saw it, so
# that a venv made before a baseline was added gets that baseline's tool.
stamp="$venv/requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
(cd "$root" && cargo build --release -q)
target="${CARGO_TARGET_DIR:-$root/target}"
export RECPIPE_BIN="$target/release/recpipe"
# OPENBLAS_CORETYPE slows a current numpy; the baselines get the machine's own kernels.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$here/bench.py" "$@"
