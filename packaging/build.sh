#!/usr/bin/env bash
# Build the one-folder desktop bundle (packaging/avsol.spec) and self-test what was built.
#
#   packaging/build.sh [--venv DIR] [--skip-self-test | --self-test-only]
#
# AVSOL_BUNDLE=cpu|cuda   the variant (default cpu; see the spec's docstring).
# --venv DIR   a build venv that already has pyinstaller, the stack and this project
#              (pip install --no-deps -e .); default: build/pyi-venv-$AVSOL_BUNDLE, made and
#              filled here on first use (below). Never the development venv: PyInstaller
#              and a CPU torch do not belong there.
#   cpu:  torch $AVSOL_TORCH_CPU (default: the lock's version +cpu) from $AVSOL_TORCH_INDEX
#         (default https://download.pytorch.org/whl/cpu; empty: pip's configured sources,
#         e.g. a wheel folder), then requirements.lock without torch, torchvision,
#         torchaudio (test-only references), triton and the CUDA wheels (nvidia-*, cuda-*).
#   cuda: requirements.lock without torchvision and torchaudio (torch as locked, with CUDA).
#
# --self-test-only   no build: the checks below on the bundle already in dist/.
# AVSOL_BUNDLE_RUNTIMES   the compiled inference runtimes taken (default openvino;
#              empty: torch only; see the spec).
#
# Output: dist/avsol-studio/ (avsol-viewer, avsol, _internal/, avsol-studio.desktop, the
# icon). A CPU bundle that holds a CUDA library or is 1 GB (1000 MB) or more unpacked, or
# any bundle with a symlink to nothing, fails the build. Then the bundle's own
# `avsol-viewer --self-test` runs three times, with one new compiled-model cache (the
# first run compiles each runtime's model, the others read it back): from the repo, from
# another working directory, and with the bundle moved under a path with spaces; and
# `avsol --help` and each command's --help run once. Prints the build time and the
# unpacked size. Exit 0 only if all of that passed. pip and PyInstaller run under `nice -n 19`.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=""
SELF_TEST=1
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --skip-self-test) SELF_TEST=0; shift ;;
    --self-test-only) SELF_TEST=only; shift ;;  # the checks below on the bundle already in dist/
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export AVSOL_BUNDLE=${AVSOL_BUNDLE:-cpu}
case "$AVSOL_BUNDLE" in cpu|cuda) ;; *) echo "build.sh: AVSOL_BUNDLE must be cpu or cuda" >&2; exit 2 ;; esac
PYINSTALLER=${AVSOL_PYINSTALLER:-pyinstaller==6.22.3}  # the release measured in packaging/README.md

make_venv() {  # make_venv DIR: a build venv for $AVSOL_BUNDLE (see the header)
  local venv=$1 pip reqs
  python3 -m venv "$venv"
  pip=(nice -n 19 "$venv/bin/pip" install -q)
  reqs=$venv/bundle-requirements.txt
  if [ "$AVSOL_BUNDLE" = cpu ]; then
    local torch_spec=${AVSOL_TORCH_CPU:-$(sed -n 's/^torch==\(.*\)$/\1/p' requirements.lock)+cpu}
    local index=${AVSOL_TORCH_INDEX-https://download.pytorch.org/whl/cpu}
    "${pip[@]}" "torch==$torch_spec" ${index:+--index-url "$index"}
    grep -E '^[a-z0-9]' requirements.lock | grep -viE '^(torch|torchvision|torchaudio|triton|nvidia-|cuda-)' > "$reqs"
  else
    grep -E '^[a-z0-9]' requirements.lock | grep -viE '^(torchvision|torchaudio)==' > "$reqs"
  fi
  "${pip[@]}" "$PYINSTALLER" -r "$reqs"
  "${pip[@]}" --no-deps -e .
}

DIST=$REPO/dist
BUNDLE=$DIST/avsol-studio
if [ "$SELF_TEST" != only ]; then
if [ -z "$VENV" ]; then
  VENV=$REPO/build/pyi-venv-$AVSOL_BUNDLE
  if [ ! -x "$VENV/bin/pyinstaller" ]; then
    echo "build.sh: making the build venv $VENV"
    venv_start=$(date +%s)
    make_venv "$VENV"
    echo "build.sh: build venv made in $(( $(date +%s) - venv_start )) s"
  fi
fi
[ -x "$VENV/bin/pyinstaller" ] || { echo "build.sh: $VENV/bin/pyinstaller not found (pip install pyinstaller there)" >&2; exit 2; }

start=$(date +%s)
nice -n 19 "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$REPO/build/pyinstaller" packaging/avsol.spec
cp packaging/avsol-studio.desktop resources/icons/avsol-studio.png resources/icons/avsol-studio.svg "$BUNDLE/"
secs=$(( $(date +%s) - start ))
if [ "$AVSOL_BUNDLE" = cpu ]; then  # the CPU bundle must carry no CUDA library it cannot use
  cuda=$(find "$BUNDLE" -regextype posix-extended \
    -iregex '.*/lib(cuda|cudart|cublas|cudnn|cufft|curand|cusolver|cusparse|cupti|cufile|nv|nccl|torch_cuda|c10_cuda)[^/]*' | head -5)
  [ -z "$cuda" ] || { echo "build.sh: the CPU bundle holds CUDA libraries: $cuda" >&2; exit 1; }
  echo "build.sh: ok no CUDA library in the CPU bundle"
fi
dangling=$(find "$BUNDLE" -xtype l | head -5)
[ -z "$dangling" ] || { echo "build.sh: symlinks to nothing in the bundle: $dangling" >&2; exit 1; }
size_mb=$(( $(du -sb "$BUNDLE" | cut -f1) / 1000000 ))
size="${size_mb} MB"
echo "build.sh: built $BUNDLE ($AVSOL_BUNDLE) in ${secs} s; unpacked size ${size} (du -sb)"
if [ "$AVSOL_BUNDLE" = cpu ] && [ "$size_mb" -ge 1000 ]; then  # the CPU bundle's limit (packaging/README.md)
  echo "build.sh: the CPU bundle is ${size}, over its 1000 MB limit (largest files: du -a $BUNDLE | sort -n | tail)" >&2
  exit 1
fi
else
  [ -x "$BUNDLE/avsol-viewer" ] || { echo "build.sh: no bundle in $BUNDLE to self-test (build it first)" >&2; exit 2; }
  size="$(( $(du -sb "$BUNDLE" | cut -f1) / 1000000 )) MB"
fi

[ "$SELF_TEST" != 0 ] || exit 0
unset AVSOL_RESOURCES QT_QPA_PLATFORM
other=$(mktemp -d)
export AVSOL_CACHE=$other/cache  # the compiled-model cache of these runs alone: the first fills it
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
echo "build.sh: all self-tests passed; bundle in $BUNDLE (${size}${secs:+, built in ${secs} s})"
