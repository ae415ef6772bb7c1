"""Send a Snakemake job's stderr and log records to its log file (it changes no output, so no
rule lists this module among its code inputs)."""

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
