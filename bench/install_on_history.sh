#!/usr/bin/env bash
# Installing crm_retail on a shop that already has its history (make bench): the benchmark
# database with crm_retail uninstalled (and the segments' tags gone with it) stands for a
# shop on vanilla Odoo with 100,000 customers and their invoices and payments. On a fresh
# copy of it, time `-i crm_retail` (the post-install hook fills every derived fact
# set-based), then check with scripts/audit.py that each fact equals what its ledger
# recomputes. Target: <= 120 s, 0 mismatches.
#   bench/install_on_history.sh BENCH_DB   (the history database is kept, keyed by BENCH_DB)
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
bench_db=$1
history="${bench_db}_history"
trial="${bench_db}_install"
logdir="$LOCAL_DIR/bench"
log() { printf '[bench install] %s\n' "$*"; }
target=120

if ! db_exists "$history"; then
    log "making $history: $bench_db without crm_retail"
    drop_db "${history}_building" 2>/dev/null || true
    copy_db "$bench_db" "${history}_building"
    # The segments' tags are the addon's own making: they go with it.
    "$ODOO" shell -c "$ODOO_CONF" -d "${history}_building" --no-http --log-level=warn \
        >>"$logdir/install-history.log" 2>&1 <<'PY'
segments = env["retail.segment"].sudo().with_context(active_test=False).search([])
tags = segments.tag_id
segments._clear_members()
env.cr.execute("DELETE FROM retail_segment")
env.cr.execute("DELETE FROM res_partner_category WHERE id = ANY(%s)", [tags.ids])
env.cr.commit()
PY
    "$ODOO" module uninstall -c "$ODOO_CONF" -d "${history}_building" crm_retail \
        >>"$logdir/install-history.log" 2>&1
    psql -X -qd "${history}_building" -c "VACUUM ANALYZE"
    psql -X -qc "ALTER DATABASE \"${history}_building\" RENAME TO \"$history\""
fi
drop_db "$trial" 2>/dev/null || true
copy_db "$history" "$trial"
start=$(date +%s.%N)
"$ODOO" -c "$ODOO_CONF" -d "$trial" -i crm_retail --stop-after-init --no-http --log-level=warn \
    >"$logdir/install-trial.log" 2>&1 || { tail -30 "$logdir/install-trial.log" >&2; exit 1; }
seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
    "$start" "$(date +%s.%N)")
audit=$(DB_NAME="$trial" bash scripts/audit.sh 2>&1 | tail -1)
mismatches=$(sed -nE 's/^audit: ([0-9]+) mismatches.*/\1/p' <<<"$audit")
drop_db "$trial"
log "install of crm_retail on $history: $seconds s; $audit"
verdict=$(python3 -c "import sys; print('PASS' if float(sys.argv[1]) <= $target else 'FAIL')" "$seconds")
echo "  $verdict  install on a database with history <= $target s ($seconds s)"
echo "  $([ "${mismatches:-x}" = 0 ] && echo PASS || echo FAIL)  every derived fact equal to its ledger after install (${mismatches:-?} mismatches)"
