#!/usr/bin/env bash
# make test-odoo: Odoo's own tests of what crm_retail extends, on a database where crm_retail
# was installed first, the way a shop runs: (1) install crm_retail; (2) on that database,
# update the modules whose tests are selected and run them. The second run loads those
# modules (and their at-install tests) before crm_retail is in the registry, while its
# columns are already in the tables: what a module update does in production.
#   ODOO_TEST_TAGS picks the tests (default: /crm, /sale_management and the account and sale
#   classes whose flows crm_retail extends: posting, refunds, reconciliation, payments,
#   partner merge, credit limit).
set -uo pipefail
. "$(dirname "$0")/env.sh"
default_tags="/crm,/sale_management"
default_tags+=",/account:TestAccountMove,/account:TestAccountMoveOutInvoiceOnchanges"
default_tags+=",/account:TestAccountMoveOutRefundOnchanges,/account:TestAccountMoveReconcile"
default_tags+=",/account:TestAccountPaymentRegister,/account:TestAccountPayment"
default_tags+=",/account:TestMergePartner,/sale:TestSaleOrderCreditLimit"
tags="${ODOO_TEST_TAGS:-$default_tags}"
modules=$(echo "$tags" | tr ',' '\n' | sed -n 's#^/\([a-z_0-9]*\).*#\1#p' | sort -u | paste -sd,)
template=$(deps_template) || exit 1
db="crm_retail_odoo_tests_$$"
trap 'drop_db "$db"' EXIT
copy_db "$template" "$db"
disable_autovacuum "$db" || exit 1
log="${TEST_LOG:-$LOCAL_DIR/test-odoo-core.log}"
echo "[test-odoo] installing crm_retail (log: $log)"
"$ODOO" -c "$ODOO_CONF" -d "$db" -i crm_retail --stop-after-init --http-port="$(free_port)" \
    --log-level=warn >"$log" 2>&1 \
    || { echo "[test-odoo] crm_retail did not install"; tail -40 "$log"; exit 1; }
echo "[test-odoo] $tags on that database (log: $log)"
"$ODOO" -c "$ODOO_CONF" -d "$db" -u "$modules" --test-enable --test-tags "$tags" \
    --stop-after-init --http-port="$(free_port)" --log-level=test >>"$log" 2>&1
rc=$?
grep -E "^(FAIL|ERROR):| (ERROR|CRITICAL) .*(FAIL|ERROR)|odoo\.tests\.result" "$log" | tail -40
exit $rc
