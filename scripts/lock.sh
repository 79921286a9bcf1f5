#!/usr/bin/env bash
# Refresh requirements.lock: the exact versions ./quickstart.sh installs and CI tests.
#
#   scripts/lock.sh            re-resolve everything to the newest releases pyproject allows
#   scripts/lock.sh -P torch   re-resolve only the named package (pip-compile's --upgrade-package)
#
# pip-compile (pip-tools) runs in a throwaway environment so the project's .venv is untouched.
# It resolves for this interpreter and platform (CPython 3.11, Linux x86_64, as CI). Constraint
# files named in pip's own configuration (this machine's `global.constraint`, which caps torch
# and torchvision at the releases its package mirrors hold) are honoured, so the lock never names
# a release that cannot install here. After refreshing: ./quickstart.sh test, then commit the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$py" -m venv "$tools"
"$tools/bin/pip" install -q --disable-pip-version-check "pip-tools>=7.4"
caps=()
configured=$("$tools/bin/pip" config list 2>/dev/null | sed -n "s/^\(global\|install\|:env:\)\.constraint='\(.*\)'$/\2/p")
for c in $configured ${PIP_CONSTRAINT:-}; do
  [ -f "$c" ] && caps+=(-c "$c")
done
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--upgrade)
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/bin/pip-compile" --quiet --extra test --strip-extras --allow-unsafe \
  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
  "${caps[@]}" "${args[@]}" -o requirements.lock pyproject.toml
echo "requirements.lock: $(grep -cE '^[a-z0-9]' requirements.lock) packages; torch $(sed -n 's/^torch==//p' requirements.lock)"
