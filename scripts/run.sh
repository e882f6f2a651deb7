#!/usr/bin/env bash
# make run: build the demo shop database once, then serve it.
#   HTTP_PORT (default 8069) and DB_NAME (default crm_retail) override port and database;
#   PREPARE_ONLY=1 builds or updates the database without serving it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
HTTP_PORT="${HTTP_PORT:-8069}"
DB_NAME="${DB_NAME:-crm_retail}"

if ! db_exists "$DB_NAME"; then
    echo "[run] creating the demo shop in database $DB_NAME (Vietnam, VND, l10n_vn)"
    log="$LOCAL_DIR/demo-$DB_NAME.log"
    {
        # The company's country decides the chart: Vietnam gives l10n_vn and VND.
        "$ODOO" db -c "$ODOO_CONF" init "$DB_NAME" --country VN --language vi_VN &&
        "$ODOO" -c "$ODOO_CONF" -d "$DB_NAME" -i l10n_vn,crm_retail --stop-after-init \
            --http-port="$(free_port)" &&
        "$ODOO" shell -c "$ODOO_CONF" -d "$DB_NAME" --http-port="$(free_port)" \
            < "$ROOT/scripts/demo_shop.py"
    } >"$log" 2>&1 || { tail -40 "$log"; drop_db "$DB_NAME"; echo "[run] demo set-up failed: $log" >&2; exit 1; }
    grep "^demo shop:" "$log"
else
    # Keep the addon's code and the database in step.
    "$ODOO" -c "$ODOO_CONF" -d "$DB_NAME" -u crm_retail --stop-after-init \
        --http-port="$(free_port)" >"$LOCAL_DIR/update-$DB_NAME.log" 2>&1 \
        || { tail -40 "$LOCAL_DIR/update-$DB_NAME.log"; exit 1; }
fi
[ "${PREPARE_ONLY:-0}" = 1 ] && exit 0
echo "[run] serving $DB_NAME on http://localhost:$HTTP_PORT (login admin / admin; cashier, salesperson, accountant; portal khachhang: password = login)"
exec "$ODOO" -c "$ODOO_CONF" -d "$DB_NAME" --db-filter="^${DB_NAME}\$" --http-port="$HTTP_PORT"
