"""What several test files share besides fixtures (those, and the helpers that run the
workflow, are conftest.py's): the study's models, the outputs' numbers without their timings,
config files written for a run, and a module user's folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from fashion_mnist_study.analysis.results import learned
from fashion_mnist_study.core.progress import load_rows

# The study's three models, in the order tables and plots list them. Written out here rather
# than taken from the package, so that a change there shows in the tests.
MODELS = ("cnn", "cnn_regularized", "mlp")
# The jobs that an edit of the filters (their settings or their module) plans again.
FILTER_JOBS = {"apply_filters": 2, "filter_errors": 1, "plot_filters": 1, "report": 1}


def learned_rows(metrics: Path) -> list[dict[str, str]]:
    """A metrics CSV's rows without their timings: what a rerun must reproduce."""
    return [learned(row) for row in load_rows(metrics)]


def learned_result(result: Path) -> dict:
    """A training's result JSON without its timings and checksums."""
    return learned(json.loads(result.read_text()))


def write_config(workdir: Path, content: dict, name: str = "edit.yaml") -> str:
    """`content` as the config file config/`name` in `workdir`; its path there, for
    `--configfile` (given after the others, Snakemake merges it into them key by key)."""
    path = workdir / "config" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content))
    return f"config/{name}"


def module_user(folder: Path, clone: Path, snakefile: str) -> Path:
    """A user's folder as docs/module.md sets one up: the clone's config/ copied, and
    `snakefile`, which uses the clone as a module."""
    shutil.copytree(clone / "config", folder / "config")
    (folder / "Snakefile").write_text(snakefile)
    return folder
