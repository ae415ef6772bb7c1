"""Checksums that let a training job's result vouch for its outputs: whoever reads them later,
from results/ or from the result cache, reads what the job wrote or stops (no pandas or torch
here: the training job itself uses this module)."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from pathlib import Path

# What a damaged entry of the result cache asks the user to run (tools/cli.py).
REPAIR_COMMAND = "fashion-mnist-study cache verify --delete"


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
        f"the result cache (ls -l shows), run `{REPAIR_COMMAND}` (or `python -m "
        "fashion_mnist_study cache verify --delete`): it removes the damaged entries of the "
        "cache, and the next run trains them again. Otherwise delete this file and run again."
    )


def is_sealed(result: dict) -> bool:
    return result.get("seal") == seal_of(result)


def read_result(path: str | os.PathLike[str]) -> dict:
    """A training job's result JSON, refused if it does not match its seal."""
    try:
        result = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise corrupt(path, f"it is not a JSON file ({error})") from None
    if not isinstance(result, dict) or not is_sealed(result):
        raise corrupt(path, "its content does not match the seal its training job wrote")
    return result


def check_output(
    path: str | os.PathLike[str],
    name: str,
    result_path: str | os.PathLike[str],
    result: dict | None = None,
) -> None:
    """Refuse `path` (the job's output `name`: metrics, predictions or weights) unless its
    bytes are the ones its result recorded. A result an earlier version wrote may hold no
    checksum of the predictions or the weights: their zip archive (npz, pt) is then checked
    for damage instead."""
    result = read_result(result_path) if result is None else result
    expected = result.get("sha256", {}).get(name)
    if expected is not None:
        if sha256_of(path) != expected:
            raise corrupt(path, f"its checksum differs from the one in {result_path}")
    elif Path(path).suffix in (".npz", ".pt"):
        check_archive(path)


def archive_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a zip archive (npz, pt) is damaged: not one, or a member failing its CRC; None if
    it reads whole."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
        return f"it is not a readable archive ({error})"
    return None if bad is None else f"its member {bad} fails its CRC check"


def check_archive(path: str | os.PathLike[str]) -> None:
    problem = archive_problem(path)
    if problem is not None:
        raise corrupt(path, problem)
