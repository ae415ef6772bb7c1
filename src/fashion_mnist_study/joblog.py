"""Glue between a Snakemake job and the package: the job's log file, its inputs by model."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> None:
    # Stays open for the whole job; line-buffered so `tail -f` shows progress.
    handle = open(path, "w", buffering=1)  # noqa: SIM115
    sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )


def inputs_by_model(inputs, name: str, models: list[str]) -> dict[str, list[str]]:
    """Model -> its files, from the named inputs `<name>_<model>` that common.smk's
    per_model() declares (`inputs` is snakemake.input)."""
    return {model: list(inputs[f"{name}_{model}"]) for model in models}
