# Developer entry points; see README.md.
.PHONY: setup demo test test-native test-core lint readme dist clean

setup:        ## install what is missing: system packages, Odoo 18.0 source, venv, PostgreSQL
	bash scripts/setup.sh

demo:         ## set up, create the demo database once, serve Odoo on http://localhost:8069
	bash scripts/demo.sh

test:         ## set up, run both addons' tests on a fresh database with pytest-odoo
	bash scripts/test.sh

test-native:  ## the same tests with Odoo's own runner (odoo-bin --test-enable)
	bash scripts/test_native.sh

test-core:    ## Odoo's own sale, purchase (and account payment/reconcile) post-install tests without and with the addons
	bash scripts/setup.sh
	bash scripts/check_core_suites.sh

lint:         ## ruff (lint + format) and pylint-odoo's mandatory checks, through pre-commit
	bash scripts/setup.sh
	.venv/bin/pre-commit run --all-files --show-diff-on-failure

readme:       ## README.rst and the Apps page (static/description/index.html) of both addons from readme/*.md
	.venv/bin/python scripts/gen_readme.py order_cancel_reconciled purchase_order_cancel_reconciled

dist:         ## build both addons' wheels into dist/ (odoo_addon_<addon>-<version>-py3-none-any.whl, by whool)
	bash scripts/build_dist.sh

clean:        ## remove the virtual environment and local files (not the Odoo source)
	rm -rf .venv .local
