# Two entry points: `make run` (the whole study) and `make test` (the test suite).
# Both create .venv on first use, with the exact versions of pylock.toml; Python 3.11 with pip
# is all they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 4

# The GPU check runs on a machine with a GPU and its own PyTorch (`python3` there), perhaps
# with no internet: what that Python lacks comes from WHEELS, made by `make gpu-wheels` on a
# machine with internet (docs/gpu.md, "The GPU check").
GPU_PYTHON ?= python3
GPU_VENV := .gpu-venv
WHEELS ?= .whl
GPU_PYTHON_VERSION ?= 3.12
# Beside PyTorch; snakemake and jsonschema as locked in pylock.toml, the rest as found there.
GPU_REQUIREMENTS := snakemake==9.27.1 jsonschema==4.26.0 tqdm pyyaml numpy matplotlib pandas \
    scipy statsmodels jinja2 pillow pytest torchvision
# What a PyTorch install usually lacks, for `gpu-wheels` (connection_pool, which snakemake
# needs, is published as source only: it is built here into a wheel for any Python).
GPU_WHEELS := snakemake==9.27.1 jsonschema==4.26.0 tqdm==4.70.1 pyyaml==6.0.4 \
    scipy==1.17.1 statsmodels==0.15.0
GPU_SDISTS := connection_pool==0.0.3
MANYLINUX := $(foreach tag,manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1,--platform $(tag)_x86_64)
# Where the Fashion-MNIST .gz files are when no mirror of config/config.yaml can be reached.
DATA ?=

.PHONY: setup lock run test coverage lint bench gpu-check gpu-wheels

setup: $(VENV)/.installed

# pylock.toml (PEP 751) holds every package and the dev tools at the versions tested, each file
# with its hash; pip installs it as it is, resolving nothing (pip 26.3 or newer reads it). Then
# this checkout, editable and alone: pip installs a lock only with hashes, which a folder has not.
$(VENV)/.installed: pyproject.toml pylock.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=26.3'
	$(BIN)/python -m pip install --quiet -r pylock.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Lock what pyproject.toml asks for into pylock.toml, for this Python and platform (pip lock's
# scope), from PyPI alone (--isolated ignores pip's config: a local mirror's file:// addresses
# would not work on another machine). Versions already locked stay as they are, as `uv lock`
# keeps them, so adding a dependency moves nothing else; `make lock UPGRADE=1` re-resolves
# everything to the newest releases the ranges admit. Run `make test` before committing.
UPGRADE ?=
lock: setup
	$(BIN)/python -c 'import tomllib; project = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	    print(*project["dependencies"], *project["optional-dependencies"]["dev"], sep="\n")' \
	    > $(VENV)/requirements.txt
	$(BIN)/python -c 'import tomllib; \
	    packages = tomllib.load(open("pylock.toml", "rb"))["packages"]; \
	    print(*(p["name"] + "==" + p["version"] for p in packages), sep="\n")' \
	    > $(VENV)/locked.txt
	$(BIN)/python -m pip lock --quiet --isolated --index-url https://pypi.org/simple \
	    -r $(VENV)/requirements.txt $(if $(UPGRADE),,-c $(VENV)/locked.txt)

run: setup
	$(BIN)/snakemake --cores $(CORES) all

# Two processes (pytest-xdist), each taking whole test files: the SLURM tests, which mostly
# wait for the cluster, start first and the other process runs the rest meanwhile; fixtures that
# run the workflow are made once and shared (tests/conftest.py). On 2 cores, two took 298-327 s
# (4 runs) and three 268-383 s (8 runs): a third oversubscribes the cores, and the tests that
# time PyTorch (bench, gpu_check) slowed most. The 25 slowest tests close the log.
PYTEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -ra -n $(PYTEST_WORKERS) --dist loadfile --durations=25

# Branch coverage of src/ by the whole suite, the workflow's jobs included (pyproject.toml's
# [tool.coverage]); one process, so that nothing but coverage differs from `make test`.
# COVERAGE_FILE: an absolute path, as the jobs run in other folders.
coverage: export COVERAGE_FILE = $(CURDIR)/.coverage
coverage: setup
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q -p no:xdist
	$(BIN)/python -m coverage combine --quiet
	$(BIN)/python -m coverage report --skip-empty

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo

bench: setup
	$(BIN)/python -m fashion_mnist_study.tools.bench

gpu-wheels: setup
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(WHEELS) $(GPU_SDISTS)
	$(BIN)/python -m pip download --quiet --dest $(WHEELS) --find-links $(WHEELS) \
	    --only-binary=:all: --python-version $(GPU_PYTHON_VERSION) --implementation cp \
	    $(MANYLINUX) $(GPU_WHEELS)

# A venv that sees GPU_PYTHON's packages (PyTorch above all) through a .pth file: a venv made
# with --system-site-packages from inside another venv would see the base Python's instead.
$(GPU_VENV)/.installed:
	rm -rf $(GPU_VENV)
	$(GPU_PYTHON) -m venv --without-pip $(GPU_VENV)
	$(GPU_PYTHON) -c 'import site; print(*(f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()), sep="\n")' \
	    > "$$($(GPU_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/gpu-python.pth"
	$(GPU_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	    $(if $(wildcard $(WHEELS)/*.whl),--no-index --find-links $(WHEELS)) $(GPU_REQUIREMENTS)
	touch $@

# The manual: docs/ (Markdown, with the API from the package's docstrings) into docs/_build/html
# (open index.html). Strict: any warning fails it, a broken link, a page left out of the
# navigation or an API reference that resolves to nothing among them (nitpicky); every page is
# read afresh, so no warning hides in a saved environment. Offline: no other project's
# inventory is fetched.
.PHONY: docs
docs: setup
	$(BIN)/sphinx-build --builder html --fresh-env --nitpicky --fail-on-warning --quiet \
	    docs docs/_build/html
	@echo "The manual: docs/_build/html/index.html"

gpu-check: $(GPU_VENV)/.installed
	PYTHONPATH=$(CURDIR)/src $(GPU_VENV)/bin/python -m fashion_mnist_study.tools.gpu_check \
	    $(if $(DATA),--data $(DATA)) $(GPU_CHECK_ARGS)
