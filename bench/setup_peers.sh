#!/usr/bin/env bash
# Install the peer SNN simulators for bench/bench_cosim.py WITHOUT touching the venv's torch.
# Each peer declares torch (and sometimes torchvision) as a dependency; a plain `pip install` would
# replace the CPU torch 2.13.0 with a multi-GB CUDA build. So: --no-deps into a separate target
# folder, plus the small pure-Python packages they import, used through PYTHONPATH.
#   usage: bench/setup_peers.sh [TARGET]   (default /work/peers)
set -euo pipefail
TARGET="${1:-/work/peers}"
PY="${PYTHON:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}"
mkdir -p "$TARGET"
# Peers themselves (no deps).
"$PY" -m pip install --quiet --no-deps --upgrade --target "$TARGET" \
    sinabs spikingjelly snntorch norse
# Their small pure-Python imports that the venv lacks (found by importing each peer;
# none of these depends on torch). nir/nirtorch: snnTorch and Norse import them at top level;
# pbr: sinabs reads its version through it; loguru: SpikingJelly logs through it.
"$PY" -m pip install --quiet --no-deps --upgrade --target "$TARGET" pbr nir nirtorch h5py loguru
echo "peers installed in $TARGET; use PYTHONPATH=$TARGET"
PYTHONPATH="$TARGET" "$PY" - <<'PY'
import importlib
import torch
for name in ("sinabs", "spikingjelly", "snntorch", "norse"):
    try:
        mod = importlib.import_module(name)
        print(f"{name:14s} {getattr(mod, '__version__', '?')}")
    except Exception as err:  # report, don't hide: the bench skips a peer that fails here
        print(f"{name:14s} IMPORT FAILED: {type(err).__name__}: {err}")
print("torch", torch.__version__)
PY
