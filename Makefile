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
# mmcv's CUDA ops (README, set-up): CUDA=auto builds them when an NVIDIA GPU is seen (driver or
# torch.cuda.is_available()), CUDA=1 always (CUDA_ARCHS="9.0" where no GPU is visible), CUDA=0
# never. CUDA_ARCHS: the architectures to compile for (default: the visible GPUs').
CUDA       ?= auto
CUDA_ARCHS ?=
# the decisions, the compiler packages' layout and the CUDA build: mmfish_tools/cuda_setup.py
CUDA_SETUP := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PY) -m mmfish_tools.cuda_setup

.PHONY: install mmcv mmcv-cpu mmcv-cuda test test-all demo gpu-check lint clean-venv

install: $(STAMP)

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) $(PINS) -r requirements/build.txt
	$(PIP) $(PINS) -r requirements/torch.txt
	@mode=$$($(CUDA_SETUP) decide --cuda '$(CUDA)' --archs '$(CUDA_ARCHS)') || exit 1; \
	  $(MAKE) --no-print-directory mmcv-$$mode
	$(PIP) $(PINS) -r requirements/openmmlab.txt
	$(PIP) $(PINS) --no-deps openmim==0.3.9
	$(PIP) $(PINS) --no-deps --no-binary xtcocotools -r requirements/mmpose.txt
	$(PIP) $(PINS) --no-deps -r requirements/panoptic.txt
	$(PIP) $(PINS) -r requirements/tests.txt
	$(PIP) $(PINS) --no-build-isolation --no-deps -e .
	@# mim looks for an installed package's model index in site-packages/<package>/.mim
	@# (mim search mmfish); an editable install leaves only its finder there, so the package
	@# folder is linked in too, as flit's --symlink installs do (the same files either way)
	ln -sfn $(CURDIR)/mmfish "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mmfish"
	$(PY) -m mmfish_tools.check_env --cuda '$(CUDA)'
	@touch $(STAMP)

# Rebuild mmcv alone in an installed venv, CPU-only or with its CUDA ops as CUDA= decides (the
# fix check_env names: make mmcv CUDA=1)
mmcv:
	@test -x $(PY) || { echo 'no $(VENV): run make install'; exit 1; }
	@mode=$$($(CUDA_SETUP) decide --cuda '$(CUDA)' --archs '$(CUDA_ARCHS)') || exit 1; \
	  $(MAKE) --no-print-directory mmcv-$$mode
	$(PY) -m mmfish_tools.check_env --cuda '$(CUDA)'

# (called with the decision above) CPU-only mmcv: pip's cache holds only this kind
mmcv-cpu:
	MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(PIP) $(PINS) --no-build-isolation -r requirements/mmcv.txt

# (called with the decision above) the CUDA compiler packages matching torch's CUDA, CUDA_HOME
# laid out in $(VENV)/cuda, and mmcv's wheel with its CUDA ops built without pip's cache into
# $(VENV)/wheels/ (reused when there), then installed
mmcv-cuda:
	$(PIP) $(PINS) "$$($(CUDA_SETUP) toolkit-spec)"
	$(CUDA_SETUP) layout
	$(CUDA_SETUP) build-wheel
	$(PIP) $(PINS) --no-deps --force-reinstall "$$($(CUDA_SETUP) wheel)"
	$(PIP) $(PINS) "$$($(CUDA_SETUP) wheel)"

test: install
	$(PY) -m pytest tests -m "not slow"

# also the end-to-end runs marked slow (minutes each)
test-all: install
	$(PY) -m pytest tests

demo: install
	$(PY) tools/demo.py

# Needs one NVIDIA GPU: first what mmcv was built with against the GPU (check_env: a mismatch
# stops it, naming the fix), then the GPU tests and the GPU benchmark into docs/benchmarks.md
# (tools/gpu_check.py). Without a CUDA device it says so and fails.
gpu-check: install
	$(PY) -m mmfish_tools.check_env --mmcv-only
	$(PY) tools/gpu_check.py

# ruff, configured in pyproject.toml (installed by requirements/tests.txt)
lint: install
	$(PY) -m ruff check .

clean-venv:
	rm -rf $(VENV)
