#!/usr/bin/env bash
# make test-odoo: Odoo's own tests of what crm_retail extends, with crm_retail installed.
#   ODOO_TEST_TAGS (default /crm,/sale_management) picks them.
set -uo pipefail
. "$(dirname "$0")/env.sh"
tags="${ODOO_TEST_TAGS:-/crm,/sale_management}"
modules=$(echo "$tags" | tr ',' '\n' | sed -n 's#^/\([a-z_]*\).*#\1#p' | sort -u | paste -sd,)
template=$(deps_template) || exit 1
db="crm_retail_odoo_tests_$$"
trap 'drop_db "$db"' EXIT
copy_db "$template" "$db"
log="$LOCAL_DIR/test-odoo-core.log"
echo "[test-odoo] $tags with crm_retail installed (log: $log)"
"$ODOO" -c "$ODOO_CONF" -d "$db" -i crm_retail -u "$modules" --test-enable --test-tags "$tags" \
    --stop-after-init --http-port="$(free_port)" --log-level=test >"$log" 2>&1
rc=$?
grep -E "^(FAIL|ERROR):| (ERROR|CRITICAL) .*(FAIL|ERROR)|odoo\.tests\.result" "$log" | tail -40
exit $rc
