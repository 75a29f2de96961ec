# POS Line: the two commands that matter are `make run` and `make test`.
# Both install what they need into .venv on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test soak bench browser esbuild screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's Chromium for the till's browser tests (Playwright cannot download one here),
# certutil (libnss3-tools), with which each test installs the box's CA in its browser's profile,
# and Noto (Naskh Arabic has every Urdu letter) so the Urdu till's screenshots show no empty boxes,
# as on a tablet that has an Urdu font. The box prints Urdu receipts as raster with the same fonts
# (gateway/urdu_raster.py), shaped by Pillow's raqm layout, which loads libfribidi0 at run time.
NOTO := /usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf
browser:
	@{ command -v chromium && command -v certutil && test -f $(NOTO) && ldconfig -p | grep -q libfribidi; } \
	    >/dev/null 2>&1 || { \
	  echo "installing Debian chromium, libnss3-tools, fonts-noto-core and libfribidi0 for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libnss3-tools \
	    fonts-noto-core libfribidi0 >/dev/null; }

# Debian's esbuild, with which the box minifies the till's JavaScript once at start-up (gateway/minify.py):
# `make run` and the tests serve the till as a box does. Without it the box still serves the till, only
# thinned, which is over issue 7's 60 KB that tests/till/test_urdu.py holds it to (so that test fails).
esbuild:
	@command -v esbuild >/dev/null 2>&1 || { \
	  echo "installing Debian esbuild, which minifies the till the box serves"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq esbuild >/dev/null; } || \
	  echo "could not install esbuild (apt-get needs root): the box will serve the till thinned, not minified"; }

# The cloud and a gateway on embedded SQLite, seeded with a demo shop; loopback only unless
# LAN=1, which serves the box on this machine's LAN addresses for a real phone or tablet.
run: $(STAMP) esbuild
	POSLINE_LAN=$(LAN) $(PY) -m gateway.demo

test: $(STAMP) browser esbuild
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The README's screenshots, taken by the browser tests themselves.
screenshots: $(STAMP) browser esbuild
	POSLINE_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# The chaos soak at length (tests/chaos/; `make test` runs a short one): >= 10,000 sales from 4 simulated
# tablets, faults on the LAN and the WAN, 50 SIGKILLs of the box and the cloud. About 11 minutes.
soak: $(STAMP) esbuild
	SOAK_DOCS=$${SOAK_DOCS:-10000} SOAK_KILLS=$${SOAK_KILLS:-50} SOAK_TABLETS=$${SOAK_TABLETS:-4} \
	  $(PY) -m pytest -q -p no:cacheprovider tests/chaos $(PYTEST_ARGS)

# Speed, not correctness (tests/bench/): each figure beside a floor measured in the same run, printed
# and written to tests/bench/latest.json (the README's Speed table). A few minutes; the browser figures
# need Chromium. POSLINE_TEST_PG_DSN adds PostgreSQL; POSLINE_BENCH_DRAIN_SALES shrinks the drain.
bench: $(STAMP) browser esbuild
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) .run
