"""Send a Snakemake job's stderr and log records to its log file."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> None:
    handle = open(path, "w", buffering=1)  # line-buffered so `tail -f` shows progress
    sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
