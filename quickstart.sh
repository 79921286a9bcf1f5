#!/usr/bin/env bash
# AVSOL Studio quick start. Two uses, both from a fresh clone:
#   ./quickstart.sh viewer   set everything up, then open the viewer on the bundled demo
#   ./quickstart.sh test     set everything up, then run the whole test suite
# Setting up means: system libraries for Qt, PortAudio, Xvfb with a window manager (openbox:
# tests/test_walkthrough.py drives the viewer in a real window) and ffmpeg (apt-get when run as
# root, otherwise a message naming what is missing), a virtual environment in .venv, and the
# package with its test extras. Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

APT_PACKAGES="libportaudio2 xvfb openbox ffmpeg libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 \
libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0"

say() { printf '\033[1m[quickstart]\033[0m %s\n' "$*" >&2; }

system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian-like system: make sure Qt 6's X11 libraries, PortAudio and ffmpeg are installed"; return 0; }
  local missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing system packages: ${missing[*]}"
    say "install them with: sudo apt-get install ${missing[*]}"
    say "(continuing: the tests that need them will tell you which)"
  fi
}

python_env() {
  local py=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $($py --version 2>&1)"
    "$py" -m venv .venv
  fi
  local stamp=.venv/.avsol-installed want
  want=$(cat pyproject.toml requirements.lock | sha1sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # Exactly the versions CI tested (requirements.lock, refreshed by scripts/lock.sh), then
    # the package itself without letting pip re-resolve anything.
    say "installing the locked Python packages into .venv (torch with its CUDA libraries is ~5 GB: several minutes the first time)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-}
case "$cmd" in
  viewer)
    shift
    system_packages; python_env
    demo="$here/resources/demo/demo.mp4"
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      say "no display: rendering the viewer offscreen to demo-screenshot.png instead"
      QT_QPA_PLATFORM=offscreen exec .venv/bin/avsol-viewer "$demo" --screenshot "$here/demo-screenshot.png" "$@"
    fi
    exec .venv/bin/avsol-viewer "$demo" "$@"
    ;;
  test)
    shift
    system_packages; python_env
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: ./quickstart.sh viewer | test [pytest args]" >&2
    exit 2
    ;;
esac
