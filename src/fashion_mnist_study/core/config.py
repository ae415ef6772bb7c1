"""Config validation with messages that name the offending key, and the models it defines,
sweeps expanded, each as one typed settings object (no torch import here: the Snakefile uses
this module)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import jsonschema
import yaml

from fashion_mnist_study.core.settings import COURSEWORK_MODELS, ModelSettings


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
    if not errors:
        problems += [f"  {problem}" for problem in semantic_problems(config)]
    if not problems:
        problems += [f"  {problem}" for problem in sweep_problems(config, schema)]
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join(problems))


def sweep_value_name(value: object) -> str:
    """A setting's value as it appears in a sweep model's name: 0.5, 1e-05, 128x128."""
    if isinstance(value, list):
        return "x".join(sweep_value_name(item) for item in value)
    return str(value)


def expand_sweep(models: dict[str, dict], sweep: dict) -> dict[str, dict]:
    """Name -> section of each model a sweep makes: its base with every combination of the
    listed values, named <base>-<setting>-<value>[-<setting>-<value>...] in the order the
    settings are listed."""
    settings = list(sweep["settings"])
    expanded = {}
    for values in itertools.product(*(sweep["settings"][key] for key in settings)):
        chosen = dict(zip(settings, values, strict=True))
        parts = [f"{key}-{sweep_value_name(value)}" for key, value in chosen.items()]
        expanded["-".join([sweep["base"], *parts])] = {**models[sweep["base"]], **chosen}
    return expanded


# Settings a model may leave to the `training` section, and their defaults there.
TRAINING_DEFAULTS = {"precision": "float32", "tf32": False}


def sweep_bases(config: dict) -> dict[str, str]:
    """The base model of every model a sweep made, by the made model's name."""
    return {
        name: sweep["base"]
        for sweep in config.get("sweeps") or []
        for name in expand_sweep(config["models"], sweep)
    }


def model_sections(config: dict) -> dict[str, dict]:
    """Every model to train, sweeps expanded: name -> its section with sorted keys, the
    study's models first, then the others by name (whatever order the config files list
    them in, so reordering a file changes no params and no table). A model without its own
    `precision` or `tf32` gets the `training` section's, so every section says what it is
    trained in."""
    defaults = {key: config["training"].get(key, value) for key, value in TRAINING_DEFAULTS.items()}
    sections = dict(config["models"])
    for sweep in config.get("sweeps") or []:
        sections.update(expand_sweep(config["models"], sweep))
    order = [*COURSEWORK_MODELS, *sorted(set(sections) - set(COURSEWORK_MODELS))]
    return {name: dict(sorted({**defaults, **sections[name]}.items())) for name in order}


def model_settings(config: dict) -> dict[str, ModelSettings]:
    return {name: ModelSettings.from_section(name, s) for name, s in model_sections(config).items()}


def sweep_problems(config: dict, schema: dict) -> list[str]:
    """Sweeps: a known base, settings its architecture has, valid values, no name taken
    twice; and a baseline that is one of the models."""
    problems = []
    models = config["models"]
    names = set(models)
    model_schema = {"$ref": "#/$defs/model", "$defs": schema["$defs"]}
    for i, sweep in enumerate(config.get("sweeps") or []):
        key = f"sweeps.{i}"
        base = sweep["base"]
        if base not in models:
            problems.append(f"{key}.base: {base!r} is not a model of models ({', '.join(models)})")
            continue
        architecture = models[base]["architecture"]
        known = set(schema["$defs"][f"{architecture}_model"]["properties"]) - {"architecture"}
        unknown = [setting for setting in sweep["settings"] if setting not in known]
        for setting in unknown:
            problems.append(
                f"{key}.settings.{setting}: a {architecture} model has no such setting "
                f"(it has {', '.join(sorted(known))})"
            )
        if unknown:
            continue
        for name, section in expand_sweep(models, sweep).items():
            if name in names:
                problems.append(f"{key}: makes model {name!r}, which is already a model")
            names.add(name)
            for error in jsonschema.Draft202012Validator(model_schema).iter_errors(section):
                setting = ".".join(str(part) for part in error.absolute_path)
                problems.append(f"{key}.settings.{setting}: {error.message} (model {name!r})")
    baseline = config["experiments"]["baseline"]
    if baseline not in names:
        problems.append(
            f"experiments.baseline: {baseline!r} is not a model (models and sweeps make "
            f"{', '.join(sorted(names))})"
        )
    return problems


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
