# mmfish: set-up, tests and the demo. Every target creates ./.venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mmfish-stack
# A machine-wide pip configuration may point at a local CPU-only torch wheel that torchvision
# 0.28.0 cannot load (its ops link libtorch_cuda): install the stack from the package index only.
PIP    := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PY) -m pip install --progress-bar off
PINS   := -c requirements/constraints.txt
REQS   := $(wildcard requirements/*.txt) pyproject.toml

.PHONY: install test test-all demo gpu-check lint clean-venv

install: $(STAMP)

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) $(PINS) -r requirements/build.txt
	$(PIP) $(PINS) -r requirements/torch.txt
	MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(PIP) $(PINS) --no-build-isolation -r requirements/mmcv.txt
	$(PIP) $(PINS) -r requirements/openmmlab.txt
	$(PIP) $(PINS) --no-deps openmim==0.3.9
	$(PIP) $(PINS) --no-deps --no-binary xtcocotools -r requirements/mmpose.txt
	$(PIP) $(PINS) --no-deps -r requirements/panoptic.txt
	$(PIP) $(PINS) -r requirements/tests.txt
	$(PIP) $(PINS) --no-build-isolation --no-deps -e .
	$(PY) -m mmfish_tools.check_env
	@touch $(STAMP)

test: install
	$(PY) -m pytest tests -m "not slow"

# also the end-to-end runs marked slow (minutes each)
test-all: install
	$(PY) -m pytest tests

demo: install
	$(PY) tools/demo.py

# Needs one NVIDIA GPU: the GPU tests, then the GPU benchmark into docs/benchmarks.md
# (tools/gpu_check.py). Without a CUDA device it says so and fails.
gpu-check: install
	$(PY) tools/gpu_check.py

# ruff, configured in pyproject.toml (installed by requirements/tests.txt)
lint: install
	$(PY) -m ruff check .

clean-venv:
	rm -rf $(VENV)
