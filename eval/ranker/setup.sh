#!/usr/bin/env bash
# Builds eval/ranker/.venv with the pinned, hash-checked packages of requirements.txt (LightGBM,
# scikit-learn, numpy), for eval/ranker/train.py. Idempotent. Only the training needs it: the
# service evaluates the trained model in Rust (src/answer/ranker.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary=:all: -r requirements.txt
.venv/bin/python -c "import lightgbm, sklearn, numpy; print('ranker training env:', 'lightgbm', lightgbm.__version__, 'scikit-learn', sklearn.__version__, 'numpy', numpy.__version__)"
