#!/usr/bin/env bash
# Prove the desktop bundle works on its own:   bash packaging/smoke_bundle.sh [BUNDLE] [--record]
#                                               (make bundle-smoke)
# BUNDLE defaults to dist/mmstudio (make bundle). Every run of the bundle here has an empty HOME
# (so no Hugging Face or pip cache), HF_HUB_OFFLINE=1, no PYTHON* variables, PATH without any
# Python environment, a working directory outside the checkout and, where `unshare -n` is
# allowed, no network at all. Checks, in order; the first failure ends the run with status 1:
#   1. `mmstudio models` lists digits as ready, with its weights inside the bundle;
#   2. `mmstudio predict` on a sample shipped inside the bundle gives the sample's label;
#   3. on Xvfb, `mmstudio launch --example ...` opens the window, which the X server reports
#      with WM_CLASS mmstudio (the .desktop file's StartupWMClass) and an icon, and shows the
#      example's analysis; a grab of the real screen is not blank; Ctrl+Q quits with status 0.
# Figures (size, build time, time to the first window) go to dist/bundle-smoke.json; --record
# also writes them into BENCHMARKS.md. The checks themselves run in .venv's Python (PIL), which
# never runs the bundle's code. packaging/smoke_bundle_breaks.sh shows this script fails on
# broken bundles.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="$ROOT/dist/mmstudio"
RECORD=0
for arg in "$@"; do
    case "$arg" in
        --record) RECORD=1 ;;
        *) BUNDLE="$(cd "$arg" && pwd)" ;;
    esac
done
CHECK_PY="${PY:-$ROOT/.venv/bin/python}"
EXAMPLE="all agree: seven"
EXPECTED=7

fail() { echo "bundle smoke FAILED: $*" >&2; exit 1; }
step() { echo "bundle smoke: $*"; }

[[ -x "$BUNDLE/mmstudio" ]] || fail "no executable at $BUNDLE/mmstudio (build it: make bundle)"
[[ -x "$CHECK_PY" ]] || fail "the checks need $CHECK_PY (make test sets it up)"
for tool in Xvfb xdotool xprop import; do
    command -v "$tool" >/dev/null || fail "$tool is missing (sudo bash packaging/install_system_deps.sh)"
done

SANDBOX="$(mktemp -d)"
XVFB_PID=""
APP_PID=""
cleanup() {
    # Wait for each to end: the app may still be writing its settings into the sandbox.
    [[ -n "$APP_PID" ]] && { kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; }
    [[ -n "$XVFB_PID" ]] && { kill "$XVFB_PID" 2>/dev/null; wait "$XVFB_PID" 2>/dev/null; }
    rm -rf "$SANDBOX"
}
trap cleanup EXIT
mkdir -p "$SANDBOX/home" "$SANDBOX/work"
cd "$SANDBOX/work"

ISOLATE=()
if unshare -n true 2>/dev/null; then
    ISOLATE=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    ISOLATE=(unshare -rn)
else
    step "unshare is not allowed here: offline by HF_HUB_OFFLINE=1 only"
fi
# Run the bundle with nothing of this machine's Python or caches in reach.
bundle() {
    env -i PATH=/usr/bin:/bin HOME="$SANDBOX/home" LANG=C.UTF-8 \
        HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ${DISPLAY_FOR_APP:+DISPLAY=$DISPLAY_FOR_APP} \
        ${QPA:+QT_QPA_PLATFORM=$QPA} ${TIMINGS:+MMSTUDIO_GUI_TIMINGS=1} \
        "${ISOLATE[@]}" "$BUNDLE/mmstudio" "$@"
}
inside_bundle() {  # inside_bundle PATH: is PATH (resolved) under the bundle?
    "$CHECK_PY" -c 'import sys; from pathlib import Path
sys.exit(not Path(sys.argv[1]).resolve().is_relative_to(Path(sys.argv[2]).resolve()))' "$1" "$BUNDLE"
}

step "1/3 models (weights must come from inside $BUNDLE)"
bundle models >models.txt 2>models.err || fail "mmstudio models exited $?: $(tail -5 models.err)"
grep -Eq '^digits .*ready$' models.txt || fail "digits is not ready:
$(cat models.txt)"
weights="$(grep -A3 '^digits ' models.txt | sed -n 's/^ *weights: //p' | head -1)"
[[ -n "$weights" && -f "$weights/model.safetensors" ]] || fail "no digits weights listed ($weights)"
inside_bundle "$weights" || fail "the digits weights come from $weights, outside the bundle"

step "2/3 predict on a sample shipped in the bundle"
samples="$(dirname "$(dirname "$weights")")/samples"  # _resources/models/digits -> _resources/samples
[[ -f "$samples/examples.json" ]] || fail "no samples inside the bundle ($samples)"
predict_started=$(date +%s%N)
bundle predict --device cpu --json --image "$samples/digit_7.png" --audio "$samples/seven.wav" \
    --text "I think it is a seven" >predict.json 2>predict.err \
    || fail "mmstudio predict exited $?: $(tail -5 predict.err)"
predict_ms=$(( ($(date +%s%N) - predict_started) / 1000000 ))
label="$("$CHECK_PY" -c 'import json, sys; a = json.load(open(sys.argv[1]))
print(a["labels"][a["predicted_index"]])' predict.json)" || fail "predict did not print an analysis"
[[ "$label" == "$EXPECTED" ]] || fail "predict said $label for the seven sample"

step "3/3 the window on Xvfb, the example \"$EXAMPLE\" analysed, then Ctrl+Q"
for number in $(seq 90 199); do
    [[ -e /tmp/.X$number-lock || -e /tmp/.X11-unix/X$number ]] || break
done
Xvfb ":$number" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do [[ -S /tmp/.X11-unix/X$number ]] && break; sleep 0.1; done
[[ -S /tmp/.X11-unix/X$number ]] || fail "Xvfb did not start on :$number"
export DISPLAY=":$number"
started=$(date +%s.%N)
DISPLAY_FOR_APP="$DISPLAY" QPA=xcb TIMINGS=1 bundle launch --device cpu --example "$EXAMPLE" \
    --size 1024x700 >window.log 2>window.err &
APP_PID=$!
for _ in $(seq 600); do
    grep -q '^mmstudio-timing first_analysis ' window.log && break
    kill -0 "$APP_PID" 2>/dev/null || fail "the bundle exited before an analysis: $(tail -5 window.err)"
    sleep 0.5
done
grep -q '^mmstudio-timing first_analysis ' window.log || fail "no analysis within 300 s"
window_at=$(sed -n 's/^mmstudio-timing window_shown \([0-9.]*\).*/\1/p' window.log)
analysis_at=$(sed -n 's/^mmstudio-timing first_analysis \([0-9.]*\).*/\1/p' window.log)
[[ -n "$window_at" ]] || fail "the window never reported being shown"
sleep 1  # the heatmaps are painted after the analysis arrives
window="$(xdotool search --onlyvisible --class mmstudio | head -1)"
[[ -n "$window" ]] || fail "the X server has no visible window of class mmstudio"
# Read into variables first: grep -q stops reading early, and xprop's broken pipe would count
# as a failure under pipefail.
wm_class="$(xprop -id "$window" WM_CLASS)"
icon="$(xprop -id "$window" _NET_WM_ICON)"
[[ "$wm_class" == *'"mmstudio", "mmstudio"'* ]] || fail "the window's $wm_class"
[[ "$icon" == *"Icon ("* ]] || fail "the window has no icon (_NET_WM_ICON) for the task bar"
import -display "$DISPLAY" -window "$window" screen.png || fail "could not grab the window"
"$CHECK_PY" -c 'import sys; from PIL import Image, ImageStat
picture = Image.open(sys.argv[1]).convert("RGB")
sys.exit(picture.size != (1024, 700) or max(ImageStat.Stat(picture).stddev) <= 20)' screen.png \
    || fail "the window grab is blank or the wrong size"
xdotool windowfocus --sync "$window"
xdotool key --clearmodifiers ctrl+q
for _ in $(seq 60); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
status=0
wait "$APP_PID" || status=$?
APP_PID=""
[[ $status -eq 0 ]] || fail "the window did not quit cleanly on Ctrl+Q (status $status)"
cp screen.png "$ROOT/dist/bundle-smoke.png"

"$CHECK_PY" - "$BUNDLE" "$started" "$window_at" "$analysis_at" "$predict_ms" "${ISOLATE[*]:-none}" \
    "$ROOT/dist/bundle-smoke.json" <<'PY'
import json, os, sys
from pathlib import Path
bundle, started, window_at, analysis_at, predict_ms, isolation, out = sys.argv[1:]
info = json.loads((Path(bundle) / "build-info.json").read_text())
figures = {
    **info,
    "first_window_seconds": round(float(window_at) - float(started), 2),
    "first_analysis_seconds": round(float(analysis_at) - float(started), 2),
    "cli_predict_seconds": round(int(predict_ms) / 1000, 2),
    "network_isolation": isolation,
    "smoke_load_average": round(os.getloadavg()[0], 1),  # other work slowing the timings down
}
Path(out).write_text(json.dumps(figures, indent=2) + "\n")
print(
    f"bundle smoke passed: {figures['size_bytes'] / 2**30:.2f} GiB, built in "
    f"{figures['build_seconds']} s; first window {figures['first_window_seconds']} s, "
    f"first analysis {figures['first_analysis_seconds']} s after launch"
)
PY
if [[ $RECORD -eq 1 ]]; then
    (cd "$ROOT" && "$CHECK_PY" benchmarks/bundle.py dist/bundle-smoke.json)
fi
