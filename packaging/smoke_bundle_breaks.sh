#!/usr/bin/env bash
# Show that packaging/smoke_bundle.sh catches a broken bundle: for each way a bundle can be
# incomplete, break a copy of dist/mmstudio and expect the smoke test to FAIL on it.
#   bash packaging/smoke_bundle_breaks.sh [BUNDLE]
# The copies are hard links (no extra disk) and only lose files, so the bundle itself is never
# changed; each copy is deleted after its run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/mmstudio}" && pwd)"
COPY="$(dirname "$BUNDLE")/mmstudio-broken"
trap 'rm -rf "$COPY"' EXIT

# what to delete (inside _internal/) and what that stands for
CASES=(
    "mmstudio/_resources/models/digits/model.safetensors|the model's weights were not packaged"
    "torch/lib/libtorch_cpu.so|a torch library was left out"
    "PySide6/Qt/plugins/platforms/libqxcb.so|Qt's X11 platform plugin was left out"
)
caught=0
for case in "${CASES[@]}"; do
    target="${case%%|*}"
    meaning="${case#*|}"
    rm -rf "$COPY"
    cp -al "$BUNDLE" "$COPY"
    [[ -e "$COPY/_internal/$target" ]] || { echo "no _internal/$target in $BUNDLE to remove" >&2; exit 1; }
    rm "$COPY/_internal/$target"
    if bash "$ROOT/packaging/smoke_bundle.sh" "$COPY" >"$COPY.log" 2>&1; then
        echo "NOT CAUGHT: $meaning (removed _internal/$target); the smoke test passed" >&2
    else
        echo "caught: $meaning -> $(grep 'bundle smoke FAILED' "$COPY.log" | head -1 | cut -c1-160)"
        caught=$((caught + 1))
    fi
    rm -f "$COPY.log"
done
rm -rf "$COPY"
echo "$caught of ${#CASES[@]} broken bundles failed the smoke test"
[[ $caught -eq ${#CASES[@]} ]]
