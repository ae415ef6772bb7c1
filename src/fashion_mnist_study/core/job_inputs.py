"""A Snakemake job's inputs, keyed by model as common.smk's per_model() declares them."""

from __future__ import annotations


def inputs_by_model(inputs, name: str, models: list[str]) -> dict[str, list[str]]:
    """Model -> its files, from the named inputs `<name>_<model>` that common.smk's
    per_model() declares (`inputs` is snakemake.input)."""
    return {model: list(inputs[f"{name}_{model}"]) for model in models}
