# RegenLab: `make app` launches the lab, `make test` runs every test. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install app test lab lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,notebooks]'
	touch $(STAMP)

install: $(STAMP)

app: install
	$(PY) -m app

test: install
	$(PY) -m pytest

lab: install
	$(VENV)/bin/jupyter lab notebooks

lint: install
	$(VENV)/bin/ruff check regenlab app tests benches

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benches/audio_features.py
	$(PY) benches/renderer_speed.py
	$(PY) benches/app_latency.py
