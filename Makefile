# The two commands the README starts with: `make run` and `make test`. Both set up .venv themselves: `make run`
# installs what the app runs on (requirements.lock), everything else adds the development tools on top.
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: run test lint typecheck migration bench audit clean messages translations

$(BIN)/.installed-runtime: requirements.lock pyproject.toml
	@echo "Installing the app and what it runs on (requirements.lock) into $(VENV) ..."
	python3 -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	touch $@

# requirements-dev.lock pins the runtime packages at the same versions, plus the test, lint and bench tools.
$(BIN)/.installed-dev: $(BIN)/.installed-runtime requirements-dev.lock
	@echo "Installing the development tools (requirements-dev.lock: pytest, mypy, ruff, Playwright, ...) into $(VENV) ..."
	$(PIP) -r requirements-dev.lock
	touch $@

# Where it listens: COINFLIP_HOST and COINFLIP_PORT, as `coinflip serve` reads them (127.0.0.1:8000, this computer
# only, unless set), or `make run HOST=0.0.0.0 PORT=8080`, which win. Only HOST and PORT given to make count: a HOST
# or PORT the shell happens to export (some do) is not an instruction to open the app to the network.
LISTEN = $(if $(filter command line,$(origin HOST)),--host $(HOST)) $(if $(filter command line,$(origin PORT)),--port $(PORT))

run: $(BIN)/.installed-runtime translations
	$(BIN)/coinflip serve $(strip $(LISTEN))

# Lint and types first, then the whole suite on SQLite, then again on PostgreSQL when
# COINFLIP_TEST_POSTGRES_URL names a server (.ci/run starts one).
test: $(BIN)/.installed-dev lint typecheck translations
	$(BIN)/pytest
	@if [ -n "$$COINFLIP_TEST_POSTGRES_URL" ]; then \
		echo "== the same suite on PostgreSQL =="; \
		COINFLIP_TEST_DATABASE_URL="$$COINFLIP_TEST_POSTGRES_URL" $(BIN)/pytest; \
	else echo "PostgreSQL run skipped: COINFLIP_TEST_POSTGRES_URL is not set"; fi

# Languages (README, "Languages"): `make messages` extracts every marked string into messages.pot and brings each
# language's catalog up to date with it; translators then fill app/translations/<lang>/LC_MESSAGES/messages.po.
# `make translations` compiles the catalogs into the .mo files the app reads (build output, not committed).
CATALOGS := app/translations
LANGUAGES := de es fr

messages: $(BIN)/.installed-runtime
	$(BIN)/pybabel extract --mapping-file=babel.cfg --keywords=lazy_gettext --add-comments=Translators: \
		--sort-by-file --width=120 --project=Coinflip --copyright-holder="" --msgid-bugs-address="" \
		--output-file=$(CATALOGS)/messages.pot .
	@for lang in $(LANGUAGES); do \
		if [ -f $(CATALOGS)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --input-file=$(CATALOGS)/messages.pot --output-dir=$(CATALOGS) --locale=$$lang \
				--width=120 --ignore-obsolete --no-fuzzy-matching; \
		else \
			$(BIN)/pybabel init --input-file=$(CATALOGS)/messages.pot --output-dir=$(CATALOGS) --locale=$$lang --width=120; \
		fi; \
	done

translations: $(BIN)/.installed-runtime
	$(BIN)/pybabel compile --directory=$(CATALOGS) --statistics

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

typecheck: $(BIN)/.installed-dev
	$(BIN)/mypy

# Benchmarks (bench/README.md): against the bare limit, at instance scale, and the page weight.
bench: $(BIN)/.installed-dev
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.weight

# Lighthouse on the main pages at mobile settings, with Debian's Chromium (npm's lighthouse, no browser download).
audit: $(BIN)/.installed-dev
	$(BIN)/python -m bench.audit

# Autogenerate a migration against a scratch database brought to head first.
migration: $(BIN)/.installed-dev
	rm -f /tmp/coinflip-migration.db
	$(BIN)/python -c "from alembic import command; from app.cli import alembic_config as c; \
		u = 'sqlite:////tmp/coinflip-migration.db'; command.upgrade(c(u), 'head'); \
		command.revision(c(u), message='$(MSG)', autogenerate=True, \
		rev_id='%04d' % (len(__import__('glob').glob('app/migrations/versions/0*.py')) + 1))"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
