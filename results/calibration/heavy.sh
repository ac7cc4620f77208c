#!/bin/bash
# heavy runs of the calibration study, one lock acquisition:
#   NMPKIT_DATA=DIR [TABLES=DIR | CAL=FILE] [STEPS="cosim tradeoff modulate"] [PYTHON=.venv/bin/python] \
#     bash results/calibration/heavy.sh
# DIR holds mnist.npz; TABLES (default runs/tables-default) holds a characterization's tables, or CAL names
# a calibration file (e.g. results/calibration/calibration-default.json); STEPS picks the runs (each a few minutes).
set -x
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
MNIST=${NMPKIT_DATA:?set NMPKIT_DATA to the folder holding mnist.npz}/mnist.npz
TABLES=${TABLES:-runs/tables-default}
STEPS=${STEPS:-cosim tradeoff modulate}
if [ -z "$CAL" ]; then
  CAL=runs/cal-quick.json
  if [ -f "$TABLES/mismatch.json" ]; then
    $PY -m nmpkit calibrate "$TABLES" --out runs/cal-default.json && CAL=runs/cal-default.json
  fi
fi
echo "CAL=$CAL"
date -u
case " $STEPS " in *" cosim "*)
$PY -m nmpkit cosim-check --calibration $CAL --data-root "$MNIST" --timesteps 100 --v-neg 0 -0.5 --out runs/cc
date -u;; esac
case " $STEPS " in *" tradeoff "*)
$PY -m nmpkit tradeoff --calibration $CAL --weights nmpkit/weights/mnist.pt --data-root "$MNIST" --limit 200 --timesteps 150 --out runs/tradeoff
date -u;; esac
case " $STEPS " in *" modulate "*)
$PY -m nmpkit modulate --calibration $CAL --weights nmpkit/weights/mnist.pt --data-root "$MNIST" --limit 200 --timesteps 150 --sigma 0.05 0.1 0.2 --out runs/modulate
date -u;; esac
