"""The workflow's own files, as a checkout holds them, and a fresh copy of them elsewhere: where
the tools and the tests run the workflow without touching the user's results."""

from __future__ import annotations

import shutil
from pathlib import Path

# The checkout's root: src/fashion_mnist_study/core/ is three folders below it.
REPO = Path(__file__).resolve().parents[3]
# What running the workflow needs of a checkout: no results, no venv, no docs.
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "profiles", "src")


def copy_workflow(destination: Path, source: Path = REPO) -> Path:
    """A fresh copy of the workflow (code and config, no results) in `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(
                path,
                destination / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        else:
            shutil.copy2(path, destination / name)
    return destination
