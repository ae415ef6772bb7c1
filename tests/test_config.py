"""Config validation: the shipped configs pass; each mistake is named by its key path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_workflow, snakemake
from helpers import write_config

from fashion_mnist_study.core.config import (
    ConfigError,
    model_sections,
    model_settings,
    sweep_bases,
    validate_config,
)

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def merged(base: dict, override: dict) -> dict:
    """`override` on top of `base`, dicts merged key by key (as Snakemake merges --configfile)."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


CONFIG = load("config.yaml")
SMOKE = merged(CONFIG, load("smoke.yaml"))


def edited(path: str, value, base: dict = CONFIG) -> dict:
    """A copy of `base` with the dotted key `path` set to `value` (or removed if value is ...)."""
    config = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return config


def problems(config: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        validate_config(config, SCHEMA)
    return str(raised.value)


def test_shipped_config_is_valid() -> None:
    validate_config(CONFIG, SCHEMA)


def test_smoke_config_merged_over_the_shipped_one_is_valid() -> None:
    assert SMOKE["data"]["mirrors"] == CONFIG["data"]["mirrors"]  # kept from config.yaml
    assert SMOKE["data"]["subset"] == {"train": 2000, "val": 500, "test": 1000}
    assert SMOKE["plots"]["panel_width"] == CONFIG["plots"]["panel_width"]
    validate_config(SMOKE, SCHEMA)


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("models.cnn.epochs", "thirty", "models.cnn.epochs: 'thirty' is not of type 'integer'"),
        ("models.mlp.hidden_sizes", 128, "models.mlp.hidden_sizes: 128 is not of type 'array'"),
        ("models.cnn.batch_size", 64.5, "models.cnn.batch_size"),
        ("training.seeds", [0, "one"], "training.seeds.1"),
        ("data.mirrors", "/usr/share/datasets/fashion-mnist", "data.mirrors"),
        ("filters.dtype", "float16", "filters.dtype"),
    ],
    ids=["epochs-str", "hidden-int", "batch-float", "seed-str", "mirrors-str", "dtype"],
)
def test_wrong_type_is_named_by_key_path(key, value, named) -> None:
    assert named in problems(edited(key, value))


def test_unknown_top_level_key_is_named() -> None:
    message = problems({**CONFIG, "extra_setting": 1})
    assert "<top level>" in message
    assert "'extra_setting' was unexpected" in message


def with_model(name: str, section: dict, base: dict = CONFIG) -> dict:
    config = copy.deepcopy(base)
    config["models"][name] = section
    return config


def with_sweeps(*sweeps: dict, base: dict = CONFIG) -> dict:
    return {**copy.deepcopy(base), "sweeps": list(sweeps)}


def test_a_model_under_any_safe_name_is_valid_and_trained() -> None:
    section = {**CONFIG["models"]["cnn_regularized"], "dropout": 0.5}
    config = with_model("cnn_dropout.5", section)
    validate_config(config, SCHEMA)
    settings = model_settings(config)["cnn_dropout.5"]
    assert settings.architecture == "cnn" and settings.dropout == 0.5


@pytest.mark.parametrize("name", ["my model", "../cnn", "2cnn", "cnn/x", ""])
def test_an_unsafe_model_name_is_named(name: str) -> None:
    message = problems(with_model(name, copy.deepcopy(CONFIG["models"]["cnn"])))
    assert "  models: " in message and repr(name) in message


def test_an_unknown_architecture_is_named() -> None:
    message = problems(edited("models.cnn.architecture", "resnet"))
    assert "models.cnn.architecture: 'resnet' is not one of ['cnn', 'mlp']" in message


def test_a_setting_the_architecture_does_not_have_is_named() -> None:
    message = problems(edited("models.cnn.hidden_sizes", [64]))
    assert "models.cnn: Additional properties are not allowed ('hidden_sizes' was unexpected)" in (
        message
    )
    assert "models.mlp: 'hidden_sizes' is a required property" in problems(
        edited("models.mlp.hidden_sizes", ...)
    )


def test_a_study_model_cannot_be_left_out() -> None:
    assert "models: 'cnn_regularized' is a required property" in problems(
        edited("models.cnn_regularized", ...)
    )


def test_a_sweep_expands_into_predictably_named_models() -> None:
    config = with_sweeps(
        {"base": "cnn_regularized", "settings": {"dropout": [0.3, 0.5]}},
        {"base": "mlp", "settings": {"hidden_sizes": [[64], [128, 32]], "learning_rate": [0.01]}},
    )
    validate_config(config, SCHEMA)
    sections = model_sections(config)
    assert list(sections) == [
        "cnn",
        "cnn_regularized",
        "mlp",
        "cnn_regularized-dropout-0.3",
        "cnn_regularized-dropout-0.5",
        "mlp-hidden_sizes-128x32-learning_rate-0.01",
        "mlp-hidden_sizes-64-learning_rate-0.01",
    ]
    assert sections["cnn_regularized-dropout-0.3"] == {
        **CONFIG["models"]["cnn_regularized"],
        "dropout": 0.3,
        "precision": "float32",  # from the training section
        "tf32": False,
    }
    assert sections["mlp-hidden_sizes-64-learning_rate-0.01"]["hidden_sizes"] == [64]
    assert sweep_bases(config) == {
        "cnn_regularized-dropout-0.3": "cnn_regularized",
        "cnn_regularized-dropout-0.5": "cnn_regularized",
        "mlp-hidden_sizes-64-learning_rate-0.01": "mlp",
        "mlp-hidden_sizes-128x32-learning_rate-0.01": "mlp",
    }


@pytest.mark.parametrize(
    ("sweep", "named"),
    [
        (
            {"base": "resnet", "settings": {"dropout": [0.5]}},
            "sweeps.0.base: 'resnet' is not a model of models",
        ),
        (
            {"base": "cnn", "settings": {"hidden_sizes": [[64]]}},
            "sweeps.0.settings.hidden_sizes: a cnn model has no such setting",
        ),
        (
            {"base": "cnn", "settings": {"dropout": []}},
            "sweeps.0.settings.dropout: [] should be non-empty",
        ),
        ({"base": "cnn", "settings": {}}, "sweeps.0.settings: {} should be non-empty"),
        (
            {"base": "cnn", "settings": {"dropout": [0.5, 1.5]}},
            "sweeps.0.settings.dropout: 1.5 is greater than or equal to the maximum of 1 "
            "(model 'cnn-dropout-1.5')",
        ),
        (
            {"base": "cnn", "settings": {"dropout": [0.5, 0.5]}},
            "sweeps.0.settings.dropout: [0.5, 0.5] has non-unique elements",
        ),
    ],
    ids=["unknown-base", "unknown-setting", "empty-list", "no-setting", "bad-value", "repeated"],
)
def test_sweep_mistakes_are_named_by_key(sweep: dict, named: str) -> None:
    assert named in problems(with_sweeps(sweep))


def test_a_sweep_name_that_a_model_already_has_is_named() -> None:
    config = with_model("cnn-dropout-0.5", copy.deepcopy(CONFIG["models"]["cnn"]))
    config = with_sweeps({"base": "cnn", "settings": {"dropout": [0.5]}}, base=config)
    assert "sweeps.0: makes model 'cnn-dropout-0.5', which is already a model" in problems(config)


def test_the_baseline_must_be_a_model() -> None:
    assert "experiments.baseline: 'resnet' is not a model" in problems(
        edited("experiments.baseline", "resnet")
    )
    swept = with_sweeps({"base": "cnn", "settings": {"dropout": [0.5]}})
    validate_config(edited("experiments.baseline", "cnn-dropout-0.5", base=swept), SCHEMA)


def test_model_order_and_settings_do_not_depend_on_the_order_of_the_files() -> None:
    extra = {"architecture": "mlp", **CONFIG["models"]["mlp"]}
    forward = with_model("b_model", extra, base=with_model("a_model", extra))
    reordered = copy.deepcopy(forward)
    reordered["models"] = {
        name: dict(reversed(section.items()))
        for name, section in reversed(forward["models"].items())
    }
    assert list(model_sections(reordered)) == [
        "cnn",
        "cnn_regularized",
        "mlp",
        "a_model",
        "b_model",
    ]
    assert repr(model_sections(reordered)) == repr(model_sections(forward))


def test_unknown_nested_key_is_named() -> None:
    message = problems(edited("models.cnn_regularized.momentum", 0.9))
    assert "models.cnn_regularized: " in message
    assert "'momentum' was unexpected" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("models.cnn.epochs", 0),
        ("models.mlp.epochs", -3),
        ("models.cnn.batch_size", 0),
        ("data.subset", {"train": -5, "val": 10, "test": 10}),
        ("training.seeds", [-1]),
        ("data.val_size", 0),
    ],
    ids=["zero-epochs", "negative-epochs", "zero-batch", "negative-subset", "seed", "val-size"],
)
def test_non_positive_count_is_named_by_key_path(key, value) -> None:
    expected_path = {"data.subset": "data.subset.train", "training.seeds": "training.seeds.0"}
    message = problems(edited(key, value))
    assert f"{expected_path.get(key, key)}: " in message
    assert "less than the minimum" in message


def test_missing_required_value_is_named() -> None:
    message = problems(edited("models.cnn.learning_rate", ...))
    assert "models.cnn: 'learning_rate' is a required property" in message


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (0, "evidence.alpha: 0 is less than or equal to the minimum of 0"),
        (-0.05, "evidence.alpha: -0.05 is less than or equal to the minimum of 0"),
        (0.7, "evidence.alpha: 0.7 is greater than the maximum of 0.5"),
        ("0.05", "evidence.alpha: '0.05' is not of type 'number'"),
    ],
    ids=["zero", "negative", "above-half", "string"],
)
def test_an_evidence_level_out_of_range_is_named(value, named: str) -> None:
    assert named in problems(edited("evidence.alpha", value))


def test_the_evidence_section_is_required_and_closed() -> None:
    assert "'evidence' is a required property" in problems(edited("evidence", ...))
    message = problems(edited("evidence.confidence", 0.9))
    assert "evidence: " in message and "'confidence' was unexpected" in message


def test_missing_section_is_named() -> None:
    message = problems(edited("plots", ...))
    assert "'plots' is a required property" in message


def test_key_left_empty_in_yaml_is_named() -> None:
    config = merged(CONFIG, yaml.safe_load("data:\n  val_size:\n"))
    assert config["data"]["val_size"] is None
    assert "data.val_size: None is not of type 'integer'" in problems(config)


@pytest.mark.parametrize("value", [-0.001, 0, 0.0])
def test_non_positive_learning_rate_is_named(value) -> None:
    assert "models.cnn_regularized.learning_rate: " in problems(
        edited("models.cnn_regularized.learning_rate", value)
    )


def test_negative_weight_decay_is_named() -> None:
    assert "models.mlp.weight_decay: " in problems(edited("models.mlp.weight_decay", -1e-5))


@pytest.mark.parametrize("value", [1.0, 1, 1.5, -0.1])
def test_dropout_outside_zero_to_one_is_named(value) -> None:
    assert "models.cnn_regularized.dropout: " in problems(
        edited("models.cnn_regularized.dropout", value)
    )


def test_unknown_device_is_named() -> None:
    message = problems(edited("training.device", "tpu"))
    assert "training.device: 'tpu' is not one of ['auto', 'cpu', 'cuda', 'mps']" in message


def test_the_schema_accepts_mps_and_rejects_metal() -> None:
    validate_config(edited("training.device", "mps"), SCHEMA)
    assert "training.device: 'metal' is not one of" in problems(edited("training.device", "metal"))


def test_example_beyond_the_subset_test_size_is_named() -> None:
    message = problems(edited("filters.examples", [0, 999, 1000, 4000], base=SMOKE))
    assert "filters.examples: [1000, 4000] are beyond the 1000 test images" in message


def test_example_beyond_the_official_test_set_is_named() -> None:
    assert "filters.examples.1: " in problems(edited("filters.examples", [0, 10000]))


def test_subset_val_larger_than_val_size_is_named() -> None:
    config = merged(SMOKE, {"data": {"val_size": 100}})
    assert "data.subset.val: 500 is more than data.val_size (100)" in problems(config)


def test_subset_train_larger_than_the_training_split_is_named() -> None:
    # With 10,000 validation images the training split holds 50,000: a subset of 55,000 cannot
    # be drawn, and prepare_splits would fail after the download. The config check must say so.
    config = merged(SMOKE, {"data": {"subset": {"train": 55000, "val": 500, "test": 1000}}})
    assert CONFIG["data"]["val_size"] == 10000
    assert "data.subset.train" in problems(config)


def test_every_problem_is_listed_at_once() -> None:
    config = edited("models.cnn.epochs", 0)
    config = edited("training.device", "tpu", base=config)
    message = problems(config)
    assert "models.cnn.epochs: " in message
    assert "training.device: " in message


def test_snakefile_stops_before_any_job_naming_the_key(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    bad = write_config(workdir, {"models": {"cnn": {"epochs": 0}}}, "bad.yaml")
    result = snakemake(workdir, "all", "-n", "--configfile", bad, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "models.cnn.epochs" in output
    assert "Job stats" not in output
    assert not (workdir / "results").exists()
    assert not (workdir / "resources").exists()


def test_config_readme_describes_every_key() -> None:
    """config/README.md (what the workflow catalog shows a module user) names every key of
    config.yaml: each section, and each setting of every section but models (one per model)."""
    readme = (REPO / "config" / "README.md").read_text()
    config = load("config.yaml")
    names = [
        f"{section}.{key}"
        for section, value in config.items()
        if isinstance(value, dict) and section != "models"
        for key in value
    ] + ["models.<name>", "sweeps"]
    assert [name for name in names if f"`{name}`" not in readme] == []
