#!/usr/bin/env bash
# make test: Odoo's runner for the addon on a throw-away database, then pytest tests/
# (out-of-process tests against real servers). Exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"

template=$(deps_template) || exit 1
db="crm_retail_test_$$"
cleanup() { drop_db "$db"; }
trap cleanup EXIT
copy_db "$template" "$db"
disable_autovacuum "$db" || exit 1

log="${TEST_LOG:-$LOCAL_DIR/test-odoo.log}"
echo "[test] Odoo runner: --test-tags ${TEST_TAGS:=/crm_retail} on $db (log: $log)"
start=$(date +%s)
"$ODOO" -c "$ODOO_CONF" -d "$db" -i crm_retail --test-enable --test-tags "$TEST_TAGS" \
    --stop-after-init --http-port="$(free_port)" --log-level=test >"$log" 2>&1
odoo_rc=$?
# Failures and errors as Odoo's runner reports them, plus any ERROR it logged.
grep -E " (ERROR|CRITICAL) |^(FAIL|ERROR):|odoo\.tests\.(result|stats)" "$log" | grep -v "odoo.tests.stats" | tail -40
result=$(grep -oE "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$log" | tail -1)
ran=$(echo "$result" | awk '{print $6}')
failed=$(echo "$result" | awk '{print $1 + $3}')
errors=$(grep -cE " (ERROR|CRITICAL) " "$log")
if [ -z "$result" ]; then
    ran=$(grep -oE "Ran [0-9]+ test" "$log" | awk '{s+=$2} END {print s+0}')
    failed=0
fi
if [ "$odoo_rc" -ne 0 ] || [ "$errors" -ne 0 ] || [ "${ran:-0}" -eq 0 ]; then
    [ "$failed" -gt 0 ] || failed=1
fi
odoo_passed=$(( ${ran:-0} - failed < 0 ? 0 : ${ran:-0} - failed ))
echo "[test] Odoo runner: ${ran:-0} tests, $failed failed, $errors logged errors, exit $odoo_rc, $(( $(date +%s) - start )) s"

pytest_passed=0; pytest_failed=0
if [ "${SKIP_PYTEST:-0}" != 1 ]; then
    echo "[test] pytest tests/"
    # The addon is installed in $db already: the external tests copy it instead of reinstalling.
    CRM_RETAIL_INSTALLED_DB="$db" "$VENV/bin/pytest" -q -p no:cacheprovider tests/ \
        | tee "$log.pytest"
    pytest_rc=${PIPESTATUS[0]}
    pytest_passed=$(grep -oE "[0-9]+ passed" "$log.pytest" | tail -1 | awk '{print $1}')
    pytest_failed=$(grep -oE "[0-9]+ (failed|error)" "$log.pytest" | awk '{s+=$1} END {print s+0}')
    if [ "$pytest_rc" -ne 0 ] && [ "${pytest_failed:-0}" -eq 0 ]; then pytest_failed=1; fi
fi

total_passed=$(( odoo_passed + ${pytest_passed:-0} ))
total_failed=$(( failed + ${pytest_failed:-0} ))
echo "[test] summary: Odoo runner ${odoo_passed} passed / ${failed} failed; pytest ${pytest_passed:-0} passed / ${pytest_failed:-0} failed"
echo "total: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
