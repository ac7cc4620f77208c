#!/bin/bash
# The trade-off's wall time, two versions of the code alternating on the same command, and their
# tradeoff.csv compared byte for byte (session 23's before/after of the trade-off speed-up).
#
#   git archive <commit> | tar -x -C /tmp/before      # the other version, a plain copy
#   flock /work/heavy.lock bash bench/tradeoff_ab.sh /tmp/before "$PWD" mnist 200 2
#   flock /work/heavy.lock bash bench/tradeoff_ab.sh /tmp/before "$PWD" allconv28 60 2
#
# mnist: results/tradeoff_mnist_1000's command (V_DD 0.8 V, T 100/200) with --limit N;
# allconv28: the default run's trade-off grid (3 V_DD, V_NEG 0/-1 V, T 25-200) on N images.
# Each version runs from its own folder (python -m puts the current folder first on sys.path)
# with its own kernel cache (CODE/.torch_ext).
# Needs NMPKIT_DATA (default /work/shared/datasets) and Debian's fashion-mnist for allconv28.
set -euo pipefail
PY=${PYTHON:-python}  # e.g. PYTHON=/work/main/.venv/bin/python
A=$(realpath "$1"); B=$(realpath "$2"); NET=${3:-mnist}; N=${4:-200}; ROUNDS=${5:-2}
DATA=${NMPKIT_DATA:-/work/shared/datasets}
OUT=$(mktemp -d)
# each version its own kernel cache: torch keys a build by name, and the same sources at another
# path would rebuild it at every switch (a compile inside the timing)
if [ "$NET" = mnist ]; then
  ARGS=(--network mnist --weights nmpkit/weights/mnist.pt --dataset mnist
        --data-root "$DATA/mnist.npz" --timesteps 100 200 --v-neg 0.0 --v-dd 0.8
        --energy-samples 1000)
else
  ARGS=(--network allconv28 --weights nmpkit/weights/allconv28_fashion.pt
        --dataset fashion-mnist --data-root /usr/share/datasets/fashion-mnist
        --timesteps 25 50 100 200 --v-neg 0.0 -1.0 --v-dd 0.8 1.0 1.2 --energy-samples "$N")
fi
for code in "$A" "$B"; do  # build each version's kernels before any timing
  (cd "$code" && TORCH_EXTENSIONS_DIR="$code/.torch_ext" PYTHONPATH="$code" "$PY" -c \
     "import cosim.kernels as k; k.build()")
done
for r in $(seq "$ROUNDS"); do
  for code in "$A" "$B"; do
    tag=$([ "$code" = "$A" ] && echo a || echo b)
    s=$(date +%s.%N)
    (cd "$code" && TORCH_EXTENSIONS_DIR="$code/.torch_ext" PYTHONPATH="$code" "$PY" -m nmpkit \
       tradeoff \
       --calibration results/calibration/calibration-default.json "${ARGS[@]}" --limit "$N" \
       --tolerance 0.005 --batch 250 --eta 0.5 --threads 2 --out "$OUT/$tag$r" --quiet)
    echo "round $r $tag ($code): $(echo "$(date +%s.%N) - $s" | bc) s"
  done
  cmp "$OUT/a$r/tradeoff.csv" "$OUT/b$r/tradeoff.csv" && echo "round $r: tradeoff.csv identical"
done
