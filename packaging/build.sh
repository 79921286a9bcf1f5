#!/usr/bin/env bash
# Build the one-folder desktop bundle (packaging/avsol.spec) and self-test what was built.
#
#   packaging/build.sh [--venv DIR] [--skip-self-test]
#
# --venv DIR   a build venv that already has pyinstaller, the locked stack and this project
#              (pip install --no-deps -e .); default: build/pyi-venv, made and filled here
#              (python3 -m venv; pip install pyinstaller -r requirements.lock; the project).
#              Never the development venv: PyInstaller and a CPU torch do not belong there.
# AVSOL_BUNDLE=cpu|cuda   the variant (default cpu; see the spec's docstring: a CPU bundle
#              needs the CPU build of torch in the build venv).
#
# Output: dist/avsol-studio/ (avsol-viewer, avsol, _internal/, avsol-studio.desktop, the
# icon). Then the bundle's own `avsol-viewer --self-test` runs three times: from the repo,
# from another working directory, and with the bundle moved under a path with spaces; and
# `avsol --help` runs once. Prints the build time and the unpacked size. Exit 0 only if all
# of that passed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=""
SELF_TEST=1
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --skip-self-test) SELF_TEST=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$VENV" ]; then
  VENV=$REPO/build/pyi-venv
  if [ ! -x "$VENV/bin/pyinstaller" ]; then
    echo "build.sh: making the build venv $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pyinstaller -r requirements.lock
    "$VENV/bin/pip" install -q --no-deps -e .
  fi
fi
[ -x "$VENV/bin/pyinstaller" ] || { echo "build.sh: $VENV/bin/pyinstaller not found (pip install pyinstaller there)" >&2; exit 2; }

export AVSOL_BUNDLE=${AVSOL_BUNDLE:-cpu}
DIST=$REPO/dist
BUNDLE=$DIST/avsol-studio
start=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$REPO/build/pyinstaller" packaging/avsol.spec
cp packaging/avsol-studio.desktop resources/icons/avsol-studio.png resources/icons/avsol-studio.svg "$BUNDLE/"
secs=$(( $(date +%s) - start ))
size=$(du -sh "$BUNDLE" | cut -f1)
echo "build.sh: built $BUNDLE ($AVSOL_BUNDLE) in ${secs} s; unpacked size ${size}"

[ "$SELF_TEST" = 1 ] || exit 0
unset AVSOL_RESOURCES QT_QPA_PLATFORM
other=$(mktemp -d)
spaced="$DIST/path with spaces"
restore() { if [ -d "$spaced/avsol-studio" ]; then mv "$spaced/avsol-studio" "$BUNDLE"; fi; rmdir "$spaced" 2>/dev/null || true; rm -rf "$other"; }
trap restore EXIT
echo "build.sh: self-test 1/3, from the repository"
"$BUNDLE/avsol-viewer" --self-test
echo "build.sh: self-test 2/3, from another working directory ($other)"
(cd "$other" && "$BUNDLE/avsol-viewer" --self-test)
echo "build.sh: self-test 3/3, by a path with spaces ($spaced/avsol-studio)"
mkdir -p "$spaced"
mv "$BUNDLE" "$spaced/avsol-studio"
(cd "$other" && "$spaced/avsol-studio/avsol-viewer" --self-test)
(cd "$other" && "$spaced/avsol-studio/avsol" --help >/dev/null)
for cmd in synth import train infer metrics eval compare; do  # each command module loads (imported by name)
  (cd "$other" && "$spaced/avsol-studio/avsol" "$cmd" --help >/dev/null)
done
echo "ok avsol --help, and --help of each command"
restore
trap - EXIT
echo "build.sh: all self-tests passed; bundle in $BUNDLE (${size}, built in ${secs} s)"
