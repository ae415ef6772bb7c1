"""Config validation with messages that name the offending key (no torch import here)."""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config does not match workflow/schemas/config.schema.yaml."""


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return path or "<top level>"


def validate_config(config: dict, schema_path: str | os.PathLike[str]) -> None:
    """Raise ConfigError listing every problem, each as `key.path: what is wrong`."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"  {_key_path(error)}: {error.message}" for error in errors]
    problems += [f"  {problem}" for problem in semantic_problems(config)] if not errors else []
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join(problems))


def semantic_problems(config: dict) -> list[str]:
    """Checks that span several keys, which a JSON schema cannot express."""
    problems = []
    subset = config["data"].get("subset")
    if subset and subset["train"] + subset["val"] > 60_000:
        problems.append("data.subset: train + val exceed the 60,000 training images")
    if subset and subset["train"] > 60_000 - config["data"]["val_size"]:
        problems.append(
            f"data.subset.train: {subset['train']} is more than the "
            f"{60_000 - config['data']['val_size']} training images left after data.val_size"
        )
    if subset and subset["val"] > config["data"]["val_size"]:
        problems.append(
            f"data.subset.val: {subset['val']} is more than data.val_size "
            f"({config['data']['val_size']})"
        )
    n_test = subset["test"] if subset else 10_000
    too_far = [i for i in config["filters"]["examples"] if i >= n_test]
    if too_far:
        problems.append(f"filters.examples: {too_far} are beyond the {n_test} test images")
    return problems
