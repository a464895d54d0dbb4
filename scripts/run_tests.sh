#!/usr/bin/env bash
# Runs the test suite once per Keras backend (KERAS_BACKEND is fixed per
# process) and fails if any backend fails. Extra arguments go to pytest.
# Tests marked `backend_independent` run on one backend only: jax, or the
# first of $BACKENDS when jax is not among them. Each backend's run ends with
# its skips grouped by reason (tests/conftest.py); the last lines here add
# them up and repeat any warning that the benchmark data is missing.
set -u
PY=${PY:-.venv/bin/python}
BACKENDS=${BACKENDS:-"tensorflow jax torch"}
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
case " $BACKENDS " in
    *" jax "*) once=jax ;;
    *) read -r once _ <<<"$BACKENDS" ;;
esac
export KERAS_DVAE_ONCE_BACKEND=${KERAS_DVAE_ONCE_BACKEND:-$once}
status=0
passed=0
failed=0
skipped=0
warnings=""
for backend in $BACKENDS; do
    echo "=== KERAS_BACKEND=$backend"
    log=$(mktemp)
    start=$SECONDS
    KERAS_BACKEND=$backend "$PY" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # pytest exits 5 when it collects no test: that is a failure here too.
    if [ "$rc" -ne 0 ]; then status=1; fi
    line=$(grep -E "^=*.*[0-9]+ (passed|failed|skipped)" "$log" | tail -n 1)
    p=$(echo "$line" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+"); p=${p:-0}
    f=$(echo "$line" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+"); f=${f:-0}
    s=$(echo "$line" | grep -oE "[0-9]+ skipped" | grep -oE "[0-9]+"); s=${s:-0}
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    missing=$(grep -F "BENCHMARK DATA MISSING" "$log" | tail -n 1)
    if [ -n "$missing" ]; then warnings+="$backend: $missing"$'\n'; fi
    echo "=== $backend: exit $rc, $p passed, $f failed, $s skipped in $((SECONDS - start)) s"
    rm -f "$log"
done
printf "%s" "$warnings"
echo "all backends: $passed passed, $failed failed, $skipped skipped" \
    "(backend-independent tests ran on $KERAS_DVAE_ONCE_BACKEND only)"
exit $status
