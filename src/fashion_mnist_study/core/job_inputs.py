"""A Snakemake job's inputs keyed by what they are (a model, a job): a rule declares them as
named inputs `<name>[<key>]` (keyed(), through common.smk's per_model() for instance), and its
script reads them back by key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

Files = TypeVar("Files")


def keyed(name: str, files_by_key: Mapping[str, Files]) -> dict[str, Files]:
    """Named inputs `<name>[<key>]`, one per key, each with that key's files."""
    return {f"{name}[{key}]": files for key, files in files_by_key.items()}


def inputs_by_model(inputs: Any, name: str, models: list[str]) -> dict[str, list[str]]:
    """Model -> its files, from the named inputs `<name>[<model>]` (`inputs` is
    snakemake.input)."""
    return {model: list(inputs[f"{name}[{model}]"]) for model in models}


def inputs_by_key(inputs: Any, name: str) -> dict[str, Any]:
    """Key -> its files as declared, from every named input `<name>[<key>]`, in their order
    (`inputs` is snakemake.input)."""
    prefix = f"{name}["
    return {
        input_name[len(prefix) : -1]: files
        for input_name, files in inputs.items()
        if input_name.startswith(prefix)
    }
