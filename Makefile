# hoikit: two set-up commands.  `make demo` and `make test` each install first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Where CPU PyTorch comes from.  Empty = the default index (this project's machines carry the CPU
# wheel locally).  On a laptop: make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_VERSION := 2.13.0
TORCHVISION_VERSION := 0.28.0
# 1 = also install the adapter libraries (hoikit[adapters]: SAM 2, transformers, diffusers, hy3dgen)
# so that their tests run on tiny random models; 0 = the embedded defaults only.
ADAPTERS ?= 1
STAMP  := $(VENV)/.hoikit-installed

.PHONY: install demo test test-all bench chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# CPU PyTorch first, and only when the venv has none: a plain `torch` pulls a CUDA build.
	$(PY) -c "import torch" 2>/dev/null || \
	  $(PIP) install --no-cache-dir $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==$(TORCH_VERSION)
ifeq ($(ADAPTERS),1)
	# torchvision from the same index as torch (PyPI's is a CUDA build; see hoikit/models/packages.py)
	$(PIP) install -c constraints.txt $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==$(TORCH_VERSION) torchvision==$(TORCHVISION_VERSION)
	# SAM 2 is a source distribution whose build imports torch: build it against the CPU torch
	# above (an isolated build would fetch another torch), without its optional CUDA extension.
	SAM2_BUILD_CUDA=0 $(PIP) install --no-build-isolation -c constraints.txt torch==$(TORCH_VERSION) sam2
	# hy3dgen's declared requirements are a web UI stack + opencv-python (clashes with mediapipe's
	# opencv-contrib-python); the `hunyuan` extra lists what its shape generator really imports.
	$(PIP) install --no-deps -c constraints.txt hy3dgen
	$(PIP) install -c constraints.txt -e ".[dev,adapters,viewer]"
else
	$(PIP) install -c constraints.txt -e ".[dev,viewer]"
endif
	touch $(STAMP)

demo: install
	$(VENV)/bin/hoikit demo

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/hoikit bench metrics --json

# The report/viewer tests screenshot pages in headless Chromium and skip when it is absent.
# Debian/Ubuntu, as root:
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
