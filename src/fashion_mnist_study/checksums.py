"""Checksums that let a training job's result vouch for its outputs: whoever reads them later,
from results/ or from the result cache, reads what the job wrote or stops (no pandas or torch
here: the training job itself uses this module)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


class CorruptOutput(ValueError):
    """A training output changed after its job wrote it (in results/ or in the cache)."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seal_of(result: dict) -> str:
    """The checksum of a result without its seal: written last, checked on every read."""
    content = {key: value for key, value in result.items() if key != "seal"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def corrupt(path: str | os.PathLike[str], why: str) -> CorruptOutput:
    return CorruptOutput(
        f"{path}: {why}, so it changed after its training job wrote it. If it is a link into "
        "the result cache (ls -l shows), delete the cache files of that job (the same name "
        "before the extension), delete this file, and run again."
    )


def read_result(path: str | os.PathLike[str]) -> dict:
    """A training job's result JSON, refused if it does not match its seal."""
    result = json.loads(Path(path).read_text())
    if result.get("seal") != seal_of(result):
        raise corrupt(path, "its content does not match the seal its training job wrote")
    return result
