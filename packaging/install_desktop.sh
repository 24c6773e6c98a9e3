#!/usr/bin/env bash
# Put mmstudio in the desktop's application menu, for this user only (no root):
#   bash packaging/install_desktop.sh [COMMAND]     (make install-desktop)
#   bash packaging/install_desktop.sh --uninstall
# COMMAND is what the menu entry starts; by default the desktop bundle when it has been built
# (dist/mmstudio/mmstudio, `make bundle`), else this checkout's .venv/bin/mmstudio, else the
# mmstudio found on PATH. Files go under $XDG_DATA_HOME (default ~/.local/share):
#   applications/mmstudio.desktop, icons/hicolor/{16x16..512x512,scalable}/apps/mmstudio.*
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
ICONS="$ROOT/resources/icons"
SIZES=(16 24 32 48 64 128 256 512)

refresh_caches() {
    # Desktops notice new entries by themselves; these only speed it up where they exist.
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$DATA/applications" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
    fi
}

if [[ "${1:-}" == "--uninstall" ]]; then
    rm -f "$DATA/applications/mmstudio.desktop" "$DATA/icons/hicolor/scalable/apps/mmstudio.svg"
    for size in "${SIZES[@]}"; do
        rm -f "$DATA/icons/hicolor/${size}x${size}/apps/mmstudio.png"
    done
    refresh_caches
    echo "removed mmstudio's menu entry and icons from $DATA"
    exit 0
fi

if [[ $# -ge 1 ]]; then
    COMMAND="$1"
elif [[ -x "$ROOT/dist/mmstudio/mmstudio" ]]; then
    COMMAND="$ROOT/dist/mmstudio/mmstudio"
elif [[ -x "$ROOT/.venv/bin/mmstudio" ]]; then
    COMMAND="$ROOT/.venv/bin/mmstudio"
else
    COMMAND="$(command -v mmstudio || true)"
fi
if [[ -z "$COMMAND" || ! -x "$COMMAND" ]]; then
    echo "install-desktop: no mmstudio to start${COMMAND:+ ($COMMAND is not executable)};" \
        "build the bundle (make bundle), run make run once, or give the command's path" >&2
    exit 1
fi
COMMAND="$(cd "$(dirname "$COMMAND")" && pwd)/$(basename "$COMMAND")"
if [[ "$COMMAND" == *[\"\`\$\\]* ]]; then
    echo "install-desktop: $COMMAND has characters a desktop entry cannot quote" >&2
    exit 1
fi

mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps"
install -m 644 "$ICONS/mmstudio.svg" "$DATA/icons/hicolor/scalable/apps/mmstudio.svg"
for size in "${SIZES[@]}"; do
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    install -m 644 "$ICONS/mmstudio-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/mmstudio.png"
done
# Written to a temporary name and renamed: a menu never reads a half-written entry.
entry="$DATA/applications/mmstudio.desktop"
sed -e "s|^Exec=.*|Exec=\"$COMMAND\"|" -e "s|^TryExec=.*|TryExec=$COMMAND|" \
    "$ROOT/packaging/mmstudio.desktop" >"$entry.tmp"
mv "$entry.tmp" "$entry"
refresh_caches
echo "installed $entry (starts $COMMAND) and icons under $DATA/icons/hicolor"
