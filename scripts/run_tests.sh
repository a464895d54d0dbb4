#!/usr/bin/env bash
# Runs the test suite once per Keras backend (KERAS_BACKEND is fixed per
# process) and fails if any backend fails. Extra arguments go to pytest.
set -u
PY=${PY:-.venv/bin/python}
BACKENDS=${BACKENDS:-"tensorflow jax torch"}
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
status=0
passed=0
failed=0
for backend in $BACKENDS; do
    echo "=== KERAS_BACKEND=$backend"
    log=$(mktemp)
    KERAS_BACKEND=$backend "$PY" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # pytest exits 5 when it collects no test: that is a failure here too.
    if [ "$rc" -ne 0 ]; then status=1; fi
    line=$(grep -E "^=*.*[0-9]+ (passed|failed)" "$log" | tail -n 1)
    p=$(echo "$line" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+"); p=${p:-0}
    f=$(echo "$line" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+"); f=${f:-0}
    passed=$((passed + p)); failed=$((failed + f))
    echo "=== $backend: exit $rc"
    rm -f "$log"
done
echo "all backends: $passed passed, $failed failed"
exit $status
