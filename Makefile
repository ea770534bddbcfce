# popup-loket: `make run` and `make test` work on a fresh machine (Debian, Python 3.11+).
SHELL := /bin/bash
# Debian's own Python 3.11+ when it can make venvs (a PGO build: ~20 % faster here than pyenv's).
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
	$$p -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

VENDOR := static/vendor/.installed
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run test install services chromium espeak fonts nginx node lint typecheck bench bench-issue bench-production translations clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,postgres,redis]'
	@touch $(STAMP)

## Front-end libraries from npm (pinned in package-lock.json), copied into static/vendor/
$(VENDOR): package.json package-lock.json | node
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js static/vendor/
	mkdir -p static/vendor/icons
	cd node_modules/@tabler/icons/icons/outline && cp id.svg package.svg car.svg steering-wheel.svg \
		parking.svg baby-carriage.svg rings.svg wheelchair.svg home-move.svg file-text.svg \
		certificate.svg calendar.svg trash.svg info-circle.svg $(CURDIR)/static/vendor/icons/
	cp node_modules/@tabler/icons/LICENSE static/vendor/icons/LICENSE-tabler-icons.txt
	@touch $(VENDOR)

## Compiled translation catalogues (the .po files are the source)
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -l $* >/dev/null

install: $(STAMP) $(VENDOR) $(COMPILED)

## Debian's Node.js and npm when missing (for the front-end install step only)
node:
	@command -v npm >/dev/null 2>&1 || { \
		echo "Installing Debian's nodejs and npm…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }

## Extract the UI's texts and update every catalogue (then translate the new entries)
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output --project popup-loket --omit-header -w 100 .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --omit-header --ignore-obsolete --no-fuzzy-matching -w 100

## Set up, migrate, create the demo stop and users, and serve on http://$(HOST):$(PORT).
## Without LOKET_PRINTER_* set, slips are "printed" as ESC/POS files into instance/slips/.
run: install fonts espeak
	$(BIN)/loket db upgrade
	LOKET_PORT=$(PORT) $(BIN)/loket demo
	$(BIN)/loket speech prerender
	@if [ -z "$$LOKET_PRINTER_BACKEND" ]; then \
		mkdir -p instance/slips; \
		echo "No LOKET_PRINTER_BACKEND set: slips are written to instance/slips/ as ESC/POS files."; \
		export LOKET_PRINTER_BACKEND=file LOKET_PRINTER_PATH=instance/slips LOKET_PRINTER_PROFILE=TM-T88V; \
	fi; \
	exec $(BIN)/loket run --host $(HOST) --port $(PORT)

## Install what the tests need (Python packages, Debian's chromium) and run them all
test: install chromium espeak fonts nginx services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian's chromium for the browser tests (never a downloaded browser)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Debian's nginx for the production-shape tests (tests/production.py runs deploy/nginx/ in
## front of several processes); only the binary is used, the system's nginx is not started
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "Installing Debian's nginx…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			nginx-light >/dev/null; }

## Debian's DejaVu fonts and FriBiDi: slips in Arabic (shaped, right to left) and in scripts a
## printer's code page lacks are drawn as images (printer/raster_text.py)
fonts:
	@{ test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
		&& /sbin/ldconfig -p | grep -q 'libfribidi\.so\.0'; } || { \
		echo "Installing Debian's fonts-dejavu-core and libfribidi0…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			fonts-dejavu-core libfribidi0 >/dev/null; }

## Debian's espeak-ng: the server's offline speech for kiosk and board (nl, en, tr, ar, pl, uk)
espeak:
	@command -v espeak-ng >/dev/null 2>&1 || { \
		echo "Installing Debian's espeak-ng…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }

## Start PostgreSQL and Redis when they are installed but not running (best effort)
services:
	@bash scripts/services.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

## The bare stack (bench/bare_app.py) and popup-loket side by side in one run (issue #17), ~2-3 min
bench: install
	$(BIN)/python bench/stack.py

## Tickets (closed loop, paced) and call -> 1, 200, 1,000 boards on popup-loket alone
bench-issue: install
	$(BIN)/python bench/issue_call.py

## The production shape through nginx (needs PostgreSQL, nginx, redis-server): tickets/s with
## 2 and 4 processes, call -> 1,000 boards, failover after a kill
bench-production: install nginx services
	$(BIN)/python bench/production.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
