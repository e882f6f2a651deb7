#!/usr/bin/env bash
# Stops the local cluster and removes it with every database and filestore.
# Kept: .cache/ (downloaded .debs, npm file, pip log), .venv/ and .local/odoo-root/.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ -f "$PGDATA/PG_VERSION" ]; then
    runuser -u postgres -- "$(pg_bindir)/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
fi
rm -rf "$PGDATA" "$PGSOCKET" "$LOCAL_DIR/data" "$ODOO_CONF" "$LOCAL_DIR"/*.log
echo "[clean] cluster, databases and filestore removed; caches kept in .cache/, .venv/, .local/odoo-root/"
