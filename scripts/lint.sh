#!/usr/bin/env bash
# make lint: ruff on everything, pylint-odoo on the addon.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
"$VENV/bin/ruff" check .
"$VENV/bin/pylint" --rcfile=.pylintrc crm_retail
echo "[lint] clean"
