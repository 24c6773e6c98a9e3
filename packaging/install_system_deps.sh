#!/usr/bin/env bash
# Debian/Ubuntu packages mmstudio uses beyond Python wheels. Run as root (or with sudo).
#   microphone:            libportaudio2
#   webcam and playback:   libpulse0 (Qt Multimedia ships its own FFmpeg)
#   real Qt windows (xcb): libxcb-* libxkbcommon-x11-0 libegl1 libgl1
#   audio files:           libsndfile1
#   tests only:            xvfb xdotool x11-utils imagemagick pulseaudio espeak-ng, and the fonts the
#                          digits dataset builder renders
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
[ -n "${SKIP_APT_UPDATE:-}" ] || $SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    make \
    libportaudio2 libpulse0 libsndfile1 \
    libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 \
    libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3 \
    xvfb xdotool x11-utils imagemagick pulseaudio pulseaudio-utils espeak-ng \
    fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-urw-base35 fonts-noto-core
