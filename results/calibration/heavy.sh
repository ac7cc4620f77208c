#!/bin/bash
# heavy runs of the calibration helper, one lock acquisition
set -x
cd /work/wt-calib
PY=/work/venv/bin/python
CAL=runs/cal-quick.json
if [ -f /work/tables-default/mismatch.json ]; then
  $PY -m nmpkit.cli calibrate /work/tables-default --out runs/cal-default.json && CAL=runs/cal-default.json
fi
echo "CAL=$CAL"
date -u
$PY -m nmpkit.cli cosim-check --calibration $CAL --data-root /work/shared/datasets/mnist.npz --timesteps 100 --v-neg 0 -0.5 --out runs/cc
date -u
$PY -m nmpkit.cli tradeoff --calibration $CAL --weights nmpkit/weights/mnist.pt --data-root /work/shared/datasets/mnist.npz --limit 200 --timesteps 150 --out runs/tradeoff
date -u
$PY -m nmpkit.cli modulate --calibration $CAL --weights nmpkit/weights/mnist.pt --data-root /work/shared/datasets/mnist.npz --limit 200 --timesteps 150 --sigma 0.05 0.1 0.2 --out runs/modulate
date -u
