#!/usr/bin/env bash
# make audit [DB_NAME=crm_retail]: check that points balances equal their history and
# that every customer invoice has exactly its points line. Non-zero exit on mismatch.
set -uo pipefail
. "$(dirname "$0")/env.sh"
DB_NAME="${DB_NAME:-crm_retail}"
out=$("$ODOO" shell -c "$ODOO_CONF" -d "$DB_NAME" --no-http --log-level=warn \
    < "$ROOT/scripts/audit.py" 2>&1)
rc=$?
echo "$out" | grep -E "^(balance|invoice|audit):? " || echo "$out" | tail -20
exit $rc
