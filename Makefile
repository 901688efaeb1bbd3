# Developer entry points; see README.md.
# SERIES picks the Odoo series: 18.0 (the default, the addons at the root) or 19.0 (the addons in
# 19.0/), e.g. `make test SERIES=19.0`. The scripts read it from the environment (scripts/env.sh):
# each series has its own Odoo source, venv, .local folder, databases and demo port.
SERIES ?= 18.0
export SERIES
.PHONY: setup demo test test-native test-core lint readme dist clean

setup:        ## install what is missing: system packages, Odoo source, venv, PostgreSQL (of SERIES)
	bash scripts/setup.sh

demo:         ## set up, create the demo database once, serve Odoo (18.0 on http://localhost:8069, 19.0 on :8070)
	bash scripts/demo.sh

test:         ## set up, run both addons' tests on a fresh database with pytest-odoo
	bash scripts/test.sh

test-native:  ## the same tests with Odoo's own runner (odoo-bin --test-enable)
	bash scripts/test_native.sh

test-core:    ## Odoo's own sale, purchase (and account payment/reconcile) post-install tests without and with the addons
	bash scripts/setup.sh
	bash scripts/check_core_suites.sh

# The linters cover every tree (the 18.0 addons and 19.0/) whatever SERIES says: they run from the
# 18.0 set-up's venv (.venv), where .pre-commit-config.yaml finds them.
lint:         ## ruff (lint + format) and pylint-odoo's mandatory checks, through pre-commit
	SERIES=18.0 bash scripts/setup.sh
	.venv/bin/pre-commit run --all-files --show-diff-on-failure

readme:       ## README.rst and the Apps page (static/description/index.html) of both addons (of SERIES) from readme/*.md
	bash -c 'source scripts/env.sh && "$$PYTHON" scripts/gen_readme.py "$$ADDONS_DIR/$$ADDON" "$$ADDONS_DIR/$$PURCHASE_ADDON"'

dist:         ## build both addons' wheels into dist/ (odoo_addon_<addon>-<version>-py3-none-any.whl, by whool)
	bash scripts/build_dist.sh

clean:        ## remove the virtual environment and local files of SERIES (not the Odoo source)
	bash -c 'source scripts/env.sh && rm -rf "$$ROOT/.venv$$SERIES_SUFFIX" "$$LOCAL"'
