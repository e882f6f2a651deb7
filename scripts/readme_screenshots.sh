#!/usr/bin/env bash
# make screenshots: the README's pictures of the main screens (docs/screenshots/), taken in
# headless Chromium from the demo shop (built or updated first, as `make run` does).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
export DB_NAME="${DB_NAME:-crm_retail}"
PREPARE_ONLY=1 bash scripts/run.sh
out="$ROOT/docs/screenshots"
mkdir -p "$out"
ids=$("$ODOO" shell -c "$ODOO_CONF" -d "$DB_NAME" --http-port="$(free_port)" --log-level=warn \
    < scripts/readme_screenshots_prepare.py | grep '^SHOTS ' | cut -d' ' -f2-)
customer=$(echo "$ids" | python3 -c 'import json, sys; print(json.load(sys.stdin)["customer"])')
invoice=$(echo "$ids" | python3 -c 'import json, sys; print(json.load(sys.stdin)["invoice"])')

port=$(free_port)
"$ODOO" -c "$ODOO_CONF" -d "$DB_NAME" --db-filter="^${DB_NAME}\$" --http-port="$port" \
    --log-level=warn >"$LOCAL_DIR/screenshots-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/web/login" && break
    sleep 1
done

shot() {  # shot NAME LOGIN URL_PATH [screenshot.py options]
    local name=$1 login=$2 path=$3
    shift 3
    echo "[screenshots] $name.png ($login)"
    "$VENV/bin/python" scripts/screenshot.py "$path" "$out/$name.png" \
        --base "http://127.0.0.1:$port" --db "$DB_NAME" --login "$login" --password "$login" \
        --width 1366 --height 768 --wait 8 "$@"
}
# The first page compiles the assets: give it time.
shot customers admin "/odoo/contacts?view_type=list" --wait 25
shot customer-form admin "/odoo/contacts/$customer" --height 1300
shot customer-debt-history accountant "/odoo/contacts/$customer" --height 1300 \
    --click ".o_notebook a[name=retail_debt_history]"
shot cashier-invoice cashier "/odoo/action-account.action_move_out_invoice_type/$invoice"
shot cashier-redeem cashier "/odoo/action-account.action_move_out_invoice_type/$invoice" \
    --click "button[name=action_retail_redeem_points]"
shot pipeline salesperson "/odoo/crm"
shot funnel-report salesperson "/odoo/action-crm_retail.action_crm_retail_funnel_report"
shot aged-receivables accountant "/odoo/action-crm_retail.action_retail_debt_aging_report"
shot segments admin "/odoo/action-crm_retail.action_retail_segment"
shot revenue-by-segment admin "/odoo/action-crm_retail.action_retail_segment_report"
shot portal-points khachhang "/my/points" --height 900
shot customers-phone cashier "/odoo/contacts" --width 390 --height 844 --wait 12
shot cashier-invoice-phone cashier "/odoo/action-account.action_move_out_invoice_type/$invoice" \
    --width 390 --height 844 --wait 12
echo "[screenshots] $(ls "$out" | wc -l) pictures in docs/screenshots/"
