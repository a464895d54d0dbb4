#!/usr/bin/env bash
# A newcomer's first hour, scripted (no manual step):
#   1. a fresh clone of this repository, with the data folder beside it
#      (../shared/data, as on CI);
#   2. `make demo` (setup + the main job), with its time and venv size;
#   3. every README block (README.md, zoo/, applications/) as written, in
#      the demo's venv;
#   4. `pip install '.[jax]'` (a built wheel, not editable) into a clean
#      venv, then a preset loaded and used from another directory, with no
#      KERAS_BACKEND and a Keras config naming TensorFlow (Keras's default),
#      which that venv does not have.
# Usage: bash scripts/fresh_clone.sh [WORKDIR]   (default: a new temp dir)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PYTHON=${PYTHON:-python3}
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

step "clone into $WORK/main"
git clone -q "$REPO" "$WORK/main"
if [ -d "$REPO/../shared" ]; then ln -sfn "$(cd "$REPO/../shared" && pwd)" "$WORK/shared"; fi
cd "$WORK/main"
git log -1 --oneline

step "make demo"
start=$(date +%s)
make demo PYTHON="$PYTHON"
echo "make demo: $(( $(date +%s) - start )) s; .venv: $(du -sh .venv | cut -f1)"

step "README blocks, as written"
KERAS_BACKEND=jax .venv/bin/python scripts/run_readme_blocks.py

step "pip install '.[jax]' into a clean venv"
"$PYTHON" -m venv "$WORK/pip-venv"
"$WORK/pip-venv/bin/python" -m pip install -q --upgrade pip
"$WORK/pip-venv/bin/python" -m pip install -q -c constraints.txt "$WORK/main[jax]"
echo "pip venv: $(du -sh "$WORK/pip-venv" | cut -f1)"

step "a preset from another directory, Keras config naming TensorFlow"
mkdir -p "$WORK/elsewhere/keras-home"
echo '{"backend": "tensorflow"}' > "$WORK/elsewhere/keras-home/keras.json"
cd "$WORK/elsewhere"
env -u KERAS_BACKEND KERAS_HOME="$WORK/elsewhere/keras-home" \
    "$WORK/pip-venv/bin/python" - <<'PY'
import time
import numpy as np
start = time.perf_counter()
import keras_dvae
from keras_dvae import models
imported = time.perf_counter()
model = models.DVAEPP.from_preset("dvaepp_2nl_mnist_static")
loaded = time.perf_counter()
x = (np.random.default_rng(0).random((8, 784)) < 0.2).astype("float32")
codes, _ = model.encode(x)
images = model.generate(4)
import keras
print(f"backend {keras.backend.backend()}: import "
      f"{imported - start:.1f} s, preset load {loaded - imported:.2f} s; "
      f"codes {codes.shape}, samples {type(images).__name__} {images.shape}")
PY
echo; echo "fresh-clone run: all steps passed"
