#!/usr/bin/env bash
# make i18n: export crm_retail.pot from a fresh install and merge it into vi.po,
# keeping existing translations. Prints the entries still untranslated.
set -euo pipefail
. "$(dirname "$0")/env.sh"
template=$(deps_template)
db="crm_retail_i18n_$$"
trap 'drop_db "$db"' EXIT
copy_db "$template" "$db"
"$ODOO" -c "$ODOO_CONF" -d "$db" -i crm_retail --stop-after-init --log-level=warn \
    --http-port="$(free_port)" >/dev/null 2>&1
"$ODOO" i18n export -c "$ODOO_CONF" -d "$db" crm_retail >/dev/null 2>&1
"$VENV/bin/python3" "$ROOT/scripts/po_merge.py" \
    "$ROOT/crm_retail/i18n/crm_retail.pot" "$ROOT/crm_retail/i18n/vi.po"
