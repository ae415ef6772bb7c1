# Two entry points: `make run` (the whole study) and `make test` (the test suite).
# Both create .venv on first use, with the exact versions of pylock.toml; a supported CPython
# with venv and pip is all they need.
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 4

# The CPython versions the lock serves, newest first, from pyproject.toml's requires-python
# (">=3.11,<3.15" gives 3.14 3.13 3.12 3.11), the one place the range is written.
PYTHON_RANGE := $(shell sed -nE 's/^requires-python = ">=3\.([0-9]+), *<3\.([0-9]+)"$$/\1 \2/p' pyproject.toml)
SUPPORTED := $(addprefix 3.,$(shell seq $$(($(lastword $(PYTHON_RANGE)) - 1)) -1 $(firstword $(PYTHON_RANGE))))
# Those on PATH that run (a pyenv shim of a version not selected is on PATH, but fails); unless
# PYTHON is given, the newest of them is taken, else python3.
FOUND := $(foreach version,$(SUPPORTED),$(shell python$(version) -c '' >/dev/null 2>&1 && echo python$(version)))
PYTHON ?= $(firstword $(FOUND) python3)
# PYTHON as "cpython-3.13.0", empty if it does not run. A finished setup's stamp names it, so a
# venv that another Python made is made anew rather than used.
PYTHON_ID := $(shell $(PYTHON) -c 'import sys; print("%s-%d.%d.%d" % ((sys.implementation.name,) + tuple(sys.version_info[:3])))' 2>/dev/null)
STAMP := $(VENV)/.installed-$(PYTHON_ID)
empty :=
comma := ,
LIST_OF_SUPPORTED := $(subst $(empty) $(empty),$(comma) ,$(SUPPORTED))

# The GPU check runs on a machine with a GPU and its own PyTorch (`python3` there), perhaps
# with no internet: what that Python lacks comes from WHEELS, made by `make gpu-wheels` on a
# machine with internet (docs/gpu.md, "The GPU check").
GPU_PYTHON ?= python3
GPU_VENV := .gpu-venv
WHEELS ?= .whl
GPU_PYTHON_VERSION ?= 3.12
# Beside PyTorch; snakemake and jsonschema as locked in pylock.toml, the rest as found there.
GPU_REQUIREMENTS := snakemake==9.27.1 jsonschema==4.26.0 tqdm pyyaml numpy matplotlib pandas \
    scipy statsmodels jinja2 markdown-it-py pillow pytest torchvision
# What a PyTorch install usually lacks, for `gpu-wheels` (connection_pool, which snakemake
# needs, is published as source only: it is built here into a wheel for any Python).
GPU_WHEELS := snakemake==9.27.1 jsonschema==4.26.0 tqdm==4.70.1 pyyaml==6.0.4 \
    scipy==1.17.1 statsmodels==0.15.0 markdown-it-py==4.3.0 mdurl==0.1.2
GPU_SDISTS := connection_pool==0.0.3
MANYLINUX := $(foreach tag,manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1,--platform $(tag)_x86_64)
# Where the Fashion-MNIST .gz files are when no mirror of config/config.yaml can be reached.
DATA ?=

.PHONY: setup lock run clean test test-interpreter pythons coverage lint bench gpu-check gpu-wheels

setup: $(STAMP)

# pylock.toml (PEP 751) holds every package and the dev tools at the versions tested, each file
# with its hash, for every supported Python and platform; pip installs it as it is, resolving
# nothing (pip 26.3 or newer reads it) and taking each file that fits this machine. Then this
# checkout, editable and alone: pip installs a lock only with hashes, which a folder has not.
# An unsupported Python stops here, before anything is made.
$(STAMP): pyproject.toml pylock.toml
	@case "$(PYTHON_ID)" in $(foreach version,$(SUPPORTED),cpython-$(version).*|) /) ;; \
	    *) echo "$(PYTHON) is $(or $(PYTHON_ID),not a Python that runs here), but this project runs" \
	            "on CPython $(LIST_OF_SUPPORTED): pass one with PYTHON, for example" \
	            "make setup PYTHON=python$(lastword $(SUPPORTED))" >&2; exit 1;; \
	esac
	@if [ -d $(VENV) ] && [ ! -e $@ ]; then \
	    echo "$(VENV) is another Python's, or its setup did not finish: making it anew with $(PYTHON_ID)"; \
	    rm -rf $(VENV); \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=26.3'
	$(BIN)/python -m pip install --quiet -r pylock.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Lock what pyproject.toml asks for, resolved once for every Python of its requires-python on
# every platform of its [tool.uv] environments (uv's universal lock, uv.lock), then exported to
# pylock.toml for pip; from PyPI alone (a machine's mirror would not serve another). Versions
# already locked stay as they are, so adding a dependency moves nothing else; `make lock
# UPGRADE=1` re-resolves everything to the newest releases the ranges admit. Run `make test`
# before committing both files.
UPGRADE ?=
lock: setup
	$(BIN)/uv lock --python $(BIN)/python --default-index https://pypi.org/simple \
	    $(if $(UPGRADE),--upgrade)
	$(BIN)/uv export --format pylock.toml --all-extras --no-emit-project --frozen --quiet \
	    --output-file pylock.toml

run: setup
	$(BIN)/snakemake --cores $(CORES) all

# What a run writes in the checkout. The trainings and the download in results/ and resources/
# are links into the result cache, which stays as it is: the next run restores them from there.
# The cache is sized first: sizing it plans the workflow, which writes .snakemake/.
RUN_OUTPUTS := results resources logs benchmarks .snakemake
CACHE_COMMAND := $(BIN)/fashion-mnist-study cache
clean:
	@sizes=$$(if [ -x $(BIN)/fashion-mnist-study ]; then $(CACHE_COMMAND) du; fi); \
	rm -rf $(RUN_OUTPUTS) && echo "Removed $(addsuffix /,$(RUN_OUTPUTS))."; \
	if [ -n "$$sizes" ]; then \
	    echo "Left: $(VENV)/, the installed packages (rm -rf $(VENV) removes them), and the result cache:"; \
	    echo "$$sizes"; \
	    echo "$(CACHE_COMMAND) prune lists the trainings config/config.yaml does not use; with --yes it removes them."; \
	else \
	    echo "Left: the result cache (make setup, then $(CACHE_COMMAND) du sizes it)."; \
	fi

# Two processes (pytest-xdist), each taking whole test files: the SLURM tests, which mostly
# wait for the cluster, start first and the other process runs the rest meanwhile; fixtures that
# run the workflow are made once and shared (tests/conftest.py). On 2 cores (an AVX2 AMD EPYC),
# two took 396 s and 414 s, three 468 s: a third oversubscribes the cores, and the processor
# time of the whole run grew by a fifth. The 25 slowest tests close the log.
PYTEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -ra -n $(PYTEST_WORKERS) --dist loadfile --durations=25

# On a second Python (CI: `make test-interpreter VENV=.venv-3.11 PYTHON=python3.11`): the tests
# that touch the interpreter: the lock and the setup, the config's validation, and the smoke
# study end to end (config/smoke.yaml with the suite's fewer images), its every output checked.
# The suite's result cache starts empty, so that the study's trainings run on this Python rather
# than being restored.
INTERPRETER_TESTS := tests/test_packaging.py tests/test_config.py \
    tests/test_workflow.py::test_smoke_run_writes_every_output_of_the_contract
test-interpreter: setup
	$(BIN)/python -m pytest -ra -n $(PYTEST_WORKERS) --dist loadfile $(INTERPRETER_TESTS)

# The supported Pythons found on PATH, newest first (what `make setup` chooses from).
pythons:
	@echo $(FOUND)

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
	$(BIN)/ruff format --check .
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
# inventory is fetched. It fails too while a page shows the latest run otherwise than
# docs/latest-run/ says (make docs-results renders it).
.PHONY: docs docs-results
docs: setup
	$(BIN)/python -m fashion_mnist_study.tools.docs_results --check
	$(BIN)/sphinx-build --builder html --fresh-env --nitpicky --fail-on-warning --quiet \
	    docs docs/_build/html
	@echo "The manual: docs/_build/html/index.html"

# The latest full run, written once in docs/latest-run/ (run.yaml and the run's tables), into
# README.md, docs/study.md and docs/speed.md between their markers. A new finished run:
# make docs-results RUN_ARGS="--from DIR --command ... --jobs ... --machine ... --wall-time ... --load ..."
RUN_ARGS ?=
docs-results: setup
	$(BIN)/python -m fashion_mnist_study.tools.docs_results $(RUN_ARGS)

gpu-check: $(GPU_VENV)/.installed
	PYTHONPATH=$(CURDIR)/src $(GPU_VENV)/bin/python -m fashion_mnist_study.tools.gpu_check \
	    $(if $(DATA),--data $(DATA)) $(GPU_CHECK_ARGS)
