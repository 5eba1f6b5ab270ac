# hoikit: two set-up commands.  `make demo` and `make test` each install first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Where CPU PyTorch comes from.  Empty = the default index (this project's machines carry the CPU
# wheel locally).  On a laptop: make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_VERSION := 2.13.0
STAMP  := $(VENV)/.hoikit-installed

.PHONY: install demo test test-all bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# CPU PyTorch first, and only when the venv has none: a plain `torch` pulls a CUDA build.
	$(PY) -c "import torch" 2>/dev/null || \
	  $(PIP) install --no-cache-dir $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==$(TORCH_VERSION)
	$(PIP) install -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: install
	$(VENV)/bin/hoikit demo

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/hoikit bench metrics --json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
