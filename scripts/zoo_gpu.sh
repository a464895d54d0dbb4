#!/usr/bin/env bash
# Trains zoo presets side by side on one accelerator, each for a fixed
# wall-clock budget (its epoch count comes from a speed probe and is
# written to its train.sh), then evaluates and exports them.
#
#   KERAS_BACKEND=jax bash scripts/zoo_gpu.sh DATA_DIR OUT_DIR SECONDS [NAMES...]
#
# NAMES default to DVAE++ Table 3's 16-group model on the 28×28 sets and
# the straight-through categorical VAE (not categorical_mnist, which more
# steps of its relaxed recipe made worse: zoo README); `scripts/device_zoo.py` stages the data on a lent GPU
# machine (CIFAR-10 too) and calls this. A preset with a committed folder
# continues from it (zoo/<name>, copied to OUT_DIR/zoo/<name>; `--continue`:
# weights, PCD chains and recorded step); one without is trained from
# scratch. Each is evaluated on the whole test set at K = $EVAL_SAMPLES
# (default 4000). FRESH=1 trains every one from scratch. Writes
# OUT_DIR/zoo/<name>/ (preset folders with the new stage in metadata.json),
# OUT_DIR/runs/<name>/ (history) and OUT_DIR/logs/<name>.log. Each run is
# killed after SECONDS + KILL_SLACK (the speed probe, evaluation and export
# included: size the slack for them).
set -u
DATA=$1
OUT=$2
BUDGET=$3
shift 3
NAMES=${*:-dvaepp_mnist_static dvaepp_mnist dvaepp_omniglot dvaepp_caltech101_silhouettes categorical_st_mnist}
PY=${PY:-python3}
mkdir -p "$OUT/logs"
mkdir -p "$OUT/zoo"
for name in $NAMES; do
    more=()
    if [ "${FRESH:-0}" != 1 ] && [ -d "zoo/$name" ]; then
        rm -rf "$OUT/zoo/$name"
        cp -r "zoo/$name" "$OUT/zoo/$name"
        more=(--continue)
    fi
    timeout "$((BUDGET + ${KILL_SLACK:-250}))" "$PY" -u -m keras_dvae.zoo.train "$name" \
        --data-dir "$DATA" --output-dir "$OUT/runs/$name" --export "$OUT/zoo/$name" \
        --time-budget "$BUDGET" --eval-examples 0 --eval-samples "${EVAL_SAMPLES:-4000}" \
        "${more[@]}" > "$OUT/logs/$name.log" 2>&1 &
done
wait
for name in $NAMES; do
    echo "== $name: $(grep -E '^(probe|trained|wrote)' "$OUT/logs/$name.log" | tr '\n' ' ')"
done
