#!/usr/bin/env bash
# Runs the test suite once per Keras backend (KERAS_BACKEND is fixed per
# process) and fails if any backend fails. Extra arguments go to pytest.
# Tests marked `backend_independent` or `end_to_end` run on one backend
# only: torch (eager, so it compiles nothing and tests fastest), or the first
# of $BACKENDS when torch is not among them. Tests run on $TEST_WORKERS
# processes (pytest-xdist; default 2, the CI machine's cores; 0 = none);
# on JAX they share one compilation cache (tests/conftest.py). Each
# backend's run ends with its slowest tests and its skips grouped by reason;
# the last lines here add them up and repeat any warning that the benchmark
# data is missing.
set -u
PY=${PY:-.venv/bin/python}
BACKENDS=${BACKENDS:-"tensorflow jax torch"}
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
case " $BACKENDS " in
    *" torch "*) once=torch ;;
    *) read -r once _ <<<"$BACKENDS" ;;
esac
workers=()
if [ "${TEST_WORKERS:-2}" != 0 ] && "$PY" -c "import xdist" 2>/dev/null; then
    workers=(-n "${TEST_WORKERS:-2}" --dist worksteal)
fi
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
    KERAS_BACKEND=$backend "$PY" -m pytest -q -p no:cacheprovider \
        "${workers[@]}" --durations=10 "$@" 2>&1 | tee "$log"
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
    "(backend-independent and end-to-end tests ran on $KERAS_DVAE_ONCE_BACKEND only)"
exit $status
