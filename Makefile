# Everything a developer, CI or a user needs; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## install the stack (Odoo 19, venv, PostgreSQL cluster); idempotent
	@bash scripts/setup.sh

run: setup  ## serve the demo shop on http://localhost:8069 (admin / admin; HTTP_PORT, DB_NAME)
	@bash scripts/run.sh

test: setup  ## Odoo's runner for the addon, then the out-of-process tests
	@bash scripts/test.sh

test-odoo: setup  ## Odoo's own /crm,/sale_management tests with crm_retail installed (ODOO_TEST_TAGS)
	@bash scripts/test-odoo.sh

audit: setup  ## check every derived fact against its ledger, count mismatches (DB_NAME, default crm_retail)
	@bash scripts/audit.sh

lint: setup  ## ruff + pylint-odoo
	@bash scripts/lint.sh

bench: setup  ## 100k customers / 500k invoice lines: segments, phone search; cashiers posting at once vs vanilla
	@bash scripts/bench.sh

screenshots: setup  ## README's pictures of the main screens, from the demo shop (DB_NAME)
	@bash scripts/readme_screenshots.sh

i18n: setup  ## re-export crm_retail.pot and merge it into vi.po
	@bash scripts/i18n.sh

clean:  ## stop and drop the local cluster and databases (downloads stay cached)
	@bash scripts/clean.sh

.PHONY: help setup run test test-odoo audit lint bench screenshots i18n clean
