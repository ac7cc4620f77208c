#!/usr/bin/env bash
# Set up nmpkit on a fresh Debian/Ubuntu machine (run as root, or with sudo available).
#   bash scripts/bootstrap.sh          # runtime: ngspice, Fashion-MNIST, a venv in .venv with nmpkit
#   bash scripts/bootstrap.sh --dev    # also test tools (pytest, hypothesis, dask) and headless Chromium
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

apt_pkgs=(ngspice libngspice0 dataset-fashion-mnist g++ ninja-build)  # g++/ninja: cosim's compiled kernels
[ "$dev" = 1 ] && apt_pkgs+=(chromium)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch pinned first: a looser spec would pull a multi-GB CUDA build
.venv/bin/python -m pip install -q "torch==2.13.0"
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
  # peer SNN tools for the NIR interop tests (tests/cosim/test_nir_peers.py): --no-deps, since
  # each declares torch/torchvision and pip would replace the CPU torch; pbr (sinabs) and loguru
  # (SpikingJelly) are their only missing pure-Python imports
  .venv/bin/python -m pip install -q --no-deps "nirtorch==2.6" "spikingjelly==2.0.0" \
    "sinabs==3.1.3" "norse==1.1.0" "pbr>=6" "loguru>=0.7,<1"
else
  .venv/bin/python -m pip install -q -e .
fi
echo "nmpkit ready in $(pwd)/.venv"
