#!/usr/bin/env bash
# Reproduce the shipped default model: build the digits dataset, train the five fusion
# strategies on it, evaluate each on the held-out test split, ship the best one and write
# its model card (resources/models/digits/).
#
# Usage: packaging/train_default_model.sh            (from anywhere inside the checkout)
# Settings (environment variables):
#   PYTHON            interpreter with mmstudio installed      (.venv/bin/python if present)
#   DATA              dataset folder, built if missing          (data/digits)
#   RUNS              one run folder per strategy               (data/runs)
#   DEVICE            auto, cpu, cuda...                        (auto)
#   EPOCHS_ATTENTION  epochs for attention fusion, the expected default (8)
#   EPOCHS_OTHER      epochs for the other four strategies      (4)
#   STRATEGIES        which strategies to train                 (all five)
#   RESUME=1          continue interrupted runs instead of starting over
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
DATA=${DATA:-data/digits}
RUNS=${RUNS:-data/runs}
DEVICE=${DEVICE:-auto}
EPOCHS_ATTENTION=${EPOCHS_ATTENTION:-8}
EPOCHS_OTHER=${EPOCHS_OTHER:-4}
STRATEGIES=${STRATEGIES:-attention concat late gated tensor}
RESUME=${RESUME:-0}
CARD=resources/models/digits/MODEL_CARD.md

# On a busy CPU, spinning OpenMP threads wait for each other and training runs several times
# slower; passive waiting costs almost nothing when the CPU is free.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mm() { "$PYTHON" -m mmstudio.training.commands "$@"; }

if [ ! -f "$DATA/manifest.jsonl" ]; then
    echo "== building the digits dataset in $DATA"
    mm build-digits "$DATA" --size full --seed 0
fi

run_dirs=()
for fusion in $STRATEGIES; do
    epochs=$EPOCHS_OTHER
    [ "$fusion" = attention ] && epochs=$EPOCHS_ATTENTION
    out="$RUNS/$fusion"
    resume=()
    [ "$RESUME" = 1 ] && resume=(--resume)
    echo "== training $fusion fusion for up to $epochs epochs -> $out"
    mm train "$DATA" --fusion "$fusion" --out "$out" --epochs "$epochs" --device "$DEVICE" \
        --seed 0 "${resume[@]}"
    echo "== evaluating $fusion on the test split"
    mm evaluate "$out" "$DATA" --split test --device "$DEVICE" --json "$out/metrics_test.json"
    run_dirs+=("$out")
done

echo "== choosing the default model and writing $CARD"
mm model-card --runs "${run_dirs[@]}" --data "$DATA" --out "$CARD" --install
