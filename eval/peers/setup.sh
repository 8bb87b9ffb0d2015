#!/usr/bin/env bash
# Installs the peer's Python environment in eval/peers/.venv from PyPI: every package pinned with
# its SHA-256 in eval/peers/requirements.txt, wheels only, no unpinned dependency.
# Idempotent: does nothing when the environment matches the requirements.
#
# Usage: eval/peers/setup.sh   (PYTHON=… selects the interpreter; CPython 3.11 on Linux x86_64)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
STAMP=.venv/.requirements.sha256
WANT=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ -x .venv/bin/python && -f $STAMP && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "peer environment up to date"
  exit 0
fi
rm -rf .venv
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --require-hashes --no-deps --only-binary=:all: -r requirements.txt
echo "$WANT" > "$STAMP"
echo "peer environment installed in eval/peers/.venv"
