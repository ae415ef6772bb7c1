"""Mixed precision: a setting of each model, part of what a training is, deterministic, and
honest about hardware that only emulates bfloat16."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import SMOKE, copy_workflow
from helpers import MODELS
from test_config import CONFIG, SCHEMA, edited, problems, with_sweeps
from test_training import numbers_without_timing, run, tiny_splits

from fashion_mnist_study.cache.keys import used_keys
from fashion_mnist_study.core.config import model_sections, model_settings, validate_config
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.precision import (
    autocast,
    cpu_flags,
    emulation_warning,
    native_bfloat16,
    use_tf32,
)

# Small enough for emulated bfloat16 (this project's CI CPUs have no native bfloat16).
TINY_BF16 = ModelSettings(
    name="cnn_regularized",
    architecture="cnn",
    epochs=2,
    batch_size=32,
    learning_rate=0.001,
    weight_decay=0.00001,
    dropout=0.7,
    precision="bfloat16",
)


def small_splits() -> dict:
    return tiny_splits(n_train=96, n_val=32, n_test=32)


def test_precision_defaults_to_float32_and_a_model_may_override_the_training_section() -> None:
    assert {s["precision"] for s in model_sections(CONFIG).values()} == {"float32"}
    config = edited("training.precision", "bfloat16")
    config = edited("models.mlp.precision", "float32", base=config)
    validate_config(config, SCHEMA)
    settings = model_settings(config)
    assert [settings[m].precision for m in MODELS] == [
        "bfloat16",
        "bfloat16",
        "float32",
    ]
    assert settings["cnn"].tf32 is False
    assert model_settings(edited("training.tf32", True))["mlp"].tf32 is True


def test_a_config_without_the_precision_keys_is_still_valid_and_float32() -> None:
    config = edited("training.tf32", ..., base=edited("training.precision", ...))
    validate_config(config, SCHEMA)
    assert {(s.precision, s.tf32) for s in model_settings(config).values()} == {("float32", False)}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("training.precision", "float16"),
        ("training.precision", "bf16"),
        ("models.cnn.precision", "float64"),
        ("training.tf32", "yes"),
        ("models.mlp.tf32", 1),
    ],
)
def test_an_unknown_precision_or_tf32_value_is_named(key: str, value: object) -> None:
    assert f"  {key}: {value!r} is not" in problems(edited(key, value))


def test_a_sweep_compares_the_two_precisions() -> None:
    config = with_sweeps({"base": "cnn", "settings": {"precision": ["float32", "bfloat16"]}})
    validate_config(config, SCHEMA)
    settings = model_settings(config)
    assert settings["cnn-precision-bfloat16"].precision == "bfloat16"
    assert settings["cnn-precision-float32"] == replace(
        settings["cnn"], name="cnn-precision-float32"
    )


def test_each_precision_is_a_training_of_its_own_in_the_result_cache(tmp_path: Path) -> None:
    """Snakemake's own cache keys: a model's precision changes its training's key and no
    other's; the download's stays."""
    workdir = copy_workflow(tmp_path / "workflow")
    override = workdir / "config" / "precision.yaml"
    keys = {}
    for label, section in {
        "float32": {},
        "mlp_bfloat16": {"models": {"mlp": {"precision": "bfloat16"}}},
        "all_bfloat16": {"training": {"precision": "bfloat16"}},
    }.items():
        override.write_text(json.dumps(section))
        keys[label] = used_keys(workdir, [workdir / SMOKE[1], override])
    assert len(keys["float32"]) == 4  # three trainings and the download
    assert len(keys["float32"] - keys["mlp_bfloat16"]) == 1
    assert len(keys["float32"] & keys["all_bfloat16"]) == 1


def test_bfloat16_training_is_deterministic_and_not_float32(tmp_path: Path) -> None:
    splits = small_splits()
    run(tmp_path / "a", splits, TINY_BF16)
    run(tmp_path / "b", splits, TINY_BF16)
    run(tmp_path / "float32", splits, replace(TINY_BF16, precision="float32"))
    numbers_a = numbers_without_timing(tmp_path / "a")
    assert numbers_a == numbers_without_timing(tmp_path / "b")
    assert numbers_a != numbers_without_timing(tmp_path / "float32")
    result = json.loads((tmp_path / "a" / "result.json").read_text())
    assert result["settings"]["precision"] == "bfloat16"


def test_bfloat16_keeps_float32_weights_and_adam_state(tmp_path: Path) -> None:
    run(tmp_path, small_splits(), replace(TINY_BF16, epochs=1))
    weights = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert weights["settings"]["precision"] == "bfloat16"
    assert {tensor.dtype for tensor in weights["state_dict"].values()} == {torch.float32}


def test_autocast_computes_in_bfloat16_only_when_asked() -> None:
    layer, x = torch.nn.Linear(4, 2), torch.rand(3, 4)
    with autocast(torch.device("cpu"), "bfloat16"):
        assert layer(x).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "float32"):
        assert layer(x).dtype == torch.float32
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        autocast(torch.device("cpu"), "float16")


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("fpu sse2 avx2 avx512f avx512_bf16", True),
        ("fpu sse2 avx2 amx_bf16 amx_tile", True),
        ("fpu sse2 avx2 avx512f avx512bw", False),
    ],
)
def test_native_bfloat16_is_read_from_the_cpu_flags(
    flags: str, native: bool, tmp_path: Path
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n"
    )
    assert native_bfloat16(torch.device("cpu"), cpuinfo) is native


def test_arm_features_are_read_too(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert cpu_flags(cpuinfo) == {"fp", "asimd", "bf16", "i8mm"}
    assert native_bfloat16(torch.device("cpu"), cpuinfo)


def test_bfloat16_on_a_cpu_without_it_says_in_its_log_that_it_is_emulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from fashion_mnist_study.study.training import run as training_run

    monkeypatch.setattr(training_run, "native_bfloat16", lambda device: False)
    run(tmp_path / "emulated", small_splits(), replace(TINY_BF16, epochs=1))
    log = capsys.readouterr().err
    assert "in bfloat16" in log
    assert "has no native bfloat16; PyTorch emulates it" in log
    monkeypatch.setattr(training_run, "native_bfloat16", lambda device: True)
    run(tmp_path / "native", small_splits(), replace(TINY_BF16, epochs=1))
    assert "emulates" not in capsys.readouterr().err


def test_autocast_keeps_its_weight_cache_except_where_steps_replay_a_cuda_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caches = {}

    def recording(device_type: str, dtype: torch.dtype, cache_enabled: bool) -> None:
        caches[device_type] = cache_enabled

    monkeypatch.setattr(torch, "autocast", recording)
    for device_type in ("cpu", "cuda", "mps"):
        autocast(torch.device(device_type), "bfloat16")
    assert caches == {"cpu": True, "cuda": False, "mps": True}


@pytest.mark.parametrize(("macos", "native"), [((14, 0), True), ((15, 2), True), ((13, 5), False)])
def test_bfloat16_counts_as_native_on_apple_gpus_from_macos_14(
    monkeypatch: pytest.MonkeyPatch, macos: tuple[int, int], native: bool
) -> None:
    monkeypatch.setattr(
        torch.backends.mps, "is_macos_or_newer", lambda major, minor: macos >= (major, minor)
    )
    assert native_bfloat16(torch.device("mps")) is native
    warning = emulation_warning(torch.device("mps"), "bfloat16", native)
    assert warning is None if native else warning.startswith("warning: this GPU has no native")


def test_no_warning_for_float32_or_native_bfloat16() -> None:
    cpu = torch.device("cpu")
    assert emulation_warning(cpu, "float32", native=False) is None
    assert emulation_warning(cpu, "bfloat16", native=True) is None
    assert "avx512_bf16" in emulation_warning(cpu, "bfloat16", native=False)


def test_tf32_is_used_only_when_the_settings_ask(tmp_path: Path) -> None:
    try:
        run(tmp_path / "ieee", small_splits(), replace(TINY_BF16, precision="float32", epochs=1))
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"  # PyTorch's default: tf32
        use_tf32(True)
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"
    finally:
        use_tf32(False)
