#!/usr/bin/env bash
# make audit [DB_NAME=crm_retail]: check every derived fact (points, invoice points, debt,
# purchase statistics, segment tags, funnel stage) against the ledgers it comes from.
# Prints each mismatch prefixed by its kind and the count per kind; non-zero exit on any.
set -uo pipefail
. "$(dirname "$0")/env.sh"
DB_NAME="${DB_NAME:-crm_retail}"
out=$("$ODOO" shell -c "$ODOO_CONF" -d "$DB_NAME" --no-http --log-level=warn \
    < "$ROOT/scripts/audit.py" 2>&1)
rc=$?
echo "$out" | grep -E "^(points|invoice|debt|stats|segments|stage|note|audit): " \
    || echo "$out" | tail -20
exit $rc
