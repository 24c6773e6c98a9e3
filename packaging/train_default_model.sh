#!/usr/bin/env bash
# Reproduce the shipped default model by the comparison protocol: build the digits dataset,
# train every fusion strategy with every seed at an equal budget (mmstudio train --seeds),
# then ship the strategy the comparison report favours, at its best-validation seed, and
# write its model card (resources/models/digits/).
#
# Usage: packaging/train_default_model.sh            (from anywhere inside the checkout)
# Settings (environment variables):
#   PYTHON      interpreter with mmstudio installed           (.venv/bin/python if present)
#   DATA        dataset folder, built if missing               (data/digits)
#   RUNS        the comparison folder                          (data/comparison)
#   DEVICE      auto, cpu, cuda...                             (auto)
#   EPOCHS      the budget: epochs per run, the same for all   (10)
#   SEEDS       seeds per strategy                             (3)
#   STRATEGIES  comma-separated strategies                     (all five)
# An interrupted comparison continues where it stopped when the script is run again: finished
# runs are kept byte for byte (mmstudio train --resume).
# The shipped model and its card were made on a 2-core CPU with the defaults; the fifteen
# runs took about four hours (the card lists each strategy's training time).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
DATA=${DATA:-data/digits}
RUNS=${RUNS:-data/comparison}
DEVICE=${DEVICE:-auto}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-3}
STRATEGIES=${STRATEGIES:-attention,concat,late,gated,tensor}
CARD=resources/models/digits/MODEL_CARD.md

# On a busy CPU, spinning OpenMP threads wait for each other and training runs several times
# slower; passive waiting costs almost nothing when the CPU is free.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mm() { "$PYTHON" -m mmstudio "$@"; }

if [ ! -f "$DATA/manifest.jsonl" ]; then
    echo "== building the digits dataset in $DATA"
    mm build-digits "$DATA" --size full --seed 0
fi

resume=()
[ -f "$RUNS/plan.json" ] && resume=(--resume)
echo "== comparing $STRATEGIES, $SEEDS seeds each, $EPOCHS epochs per run -> $RUNS"
mm train "$DATA" --fusion "$STRATEGIES" --seeds "$SEEDS" --epochs "$EPOCHS" --device "$DEVICE" \
    --out "$RUNS" "${resume[@]}"

echo "== choosing the default model by $RUNS/report.json and writing $CARD"
mm model-card --comparison "$RUNS" --data "$DATA" --out "$CARD" --install
