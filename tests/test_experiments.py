"""The comparison of every model, from small hand-made results; the checks that refuse a
training output changed after its job wrote it; the result cache's folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from fashion_mnist_study.analysis.results import read_metrics
from fashion_mnist_study.cache.store import CACHE_VARIABLE, output_cache
from fashion_mnist_study.core.checksums import CorruptOutput, read_result, seal_of, sha256_of
from fashion_mnist_study.outputs.experiments import experiments_table

BASE = {
    "architecture": "cnn",
    "epochs": 3,
    "batch_size": 64,
    "learning_rate": 0.001,
    "weight_decay": 0.0,
    "dropout": 0.0,
}


def write_run(
    root: Path,
    model: str,
    seed: int,
    val: list[float],
    train: list[float],
    test_acc: float,
    seconds: float = 10.0,
) -> tuple[str, str]:
    """A hand-made training job's metrics CSV and sealed result JSON."""
    csv_path = root / model / f"seed{seed}.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "epoch": range(1, len(val) + 1),
            "train_loss": 0.5,
            "train_acc": train,
            "val_loss": 0.5,
            "val_acc": val,
            "seconds": 1.0,
        }
    ).to_csv(csv_path, index=False)
    result = {
        "model": model,
        "seed": seed,
        "test_acc": test_acc,
        "n_test": 1000,
        "params": 1000 + len(model),
        "epochs": len(val),
        "seconds": seconds,
        "sha256": {"metrics": sha256_of(csv_path)},
    }
    json_path = csv_path.with_suffix(".json")
    json_path.write_text(json.dumps({**result, "seal": seal_of(result)}))
    return str(csv_path), str(json_path)


@pytest.fixture
def table(tmp_path: Path) -> pd.DataFrame:
    settings = {
        "cnn": BASE,
        "wide": {**BASE, "dropout": 0.5},
        "close": {**BASE, "dropout": 0.3},
        "single": {**BASE, "learning_rate": 0.01},
    }
    # per model, per seed: validation and training accuracy per epoch, test accuracy
    runs = {
        "cnn": [
            ([0.80, 0.85, 0.84], [0.8, 0.9, 0.95], 0.84),
            ([0.80, 0.86, 0.85], [0.8, 0.9, 0.93], 0.86),
        ],
        "wide": [
            ([0.8, 0.9, 0.91], [0.8, 0.9, 0.92], 0.90),
            ([0.8, 0.9, 0.89], [0.8, 0.9, 0.90], 0.92),
        ],
        "close": [
            ([0.8, 0.85, 0.85], [0.8, 0.9, 0.9], 0.84),
            ([0.8, 0.86, 0.86], [0.8, 0.9, 0.9], 0.87),
        ],
        "single": [([0.7, 0.75, 0.76], [0.7, 0.8, 0.8], 0.75)],
    }
    metrics, results = {}, {}
    for model, seeds in runs.items():
        for seed, (val, train, test) in enumerate(seeds):
            csv_path, json_path = write_run(tmp_path, model, seed, val, train, test, 10.0 + seed)
            metrics.setdefault(model, []).append(csv_path)
            results.setdefault(model, []).append(json_path)
    return experiments_table(
        settings, results, metrics, baseline="cnn", comparisons=COMPARISONS
    ).set_index("model")


# What comparisons.csv would say of these models against the baseline (either order).
COMPARISONS = pd.DataFrame(
    {
        "model_a": ["wide", "close", "cnn"],
        "model_b": ["cnn", "cnn", "single"],
        "p_holm": [0.012, 0.4, 0.003],
        "verdict": ["wide ahead", "not distinguishable", "cnn ahead"],
    }
)


def test_one_row_per_model_with_the_settings_that_differ(table: pd.DataFrame) -> None:
    assert list(table.index) == ["cnn", "wide", "close", "single"]
    assert list(table.columns[:3]) == ["architecture", "dropout", "learning_rate"]
    assert table.at["wide", "dropout"] == 0.5 and table.at["single", "learning_rate"] == 0.01
    assert list(table["seeds"]) == [2, 2, 2, 1]
    assert list(table["epochs"]) == [3, 3, 3, 3]


def test_accuracy_cost_and_overfitting_over_seeds(table: pd.DataFrame) -> None:
    assert table.at["cnn", "test_acc_mean"] == pytest.approx(0.85)
    assert table.at["cnn", "test_acc_std"] == pytest.approx(0.0141421, rel=1e-4)
    assert table.at["single", "test_acc_std"] == 0.0
    assert table.at["cnn", "best_val_acc"] == pytest.approx((0.85 + 0.86) / 2)
    assert table.at["cnn", "final_gap"] == pytest.approx(((0.95 - 0.84) + (0.93 - 0.85)) / 2)
    assert table.at["cnn", "train_seconds"] == pytest.approx(10.5)


def test_difference_from_the_baseline_with_the_verdict_of_its_comparison(
    table: pd.DataFrame,
) -> None:
    assert table.at["wide", "vs_baseline"] == pytest.approx(0.06)
    assert table.at["wide", "verdict"] == "better" and table.at["wide", "p_holm"] == 0.012
    assert table.at["close", "vs_baseline"] == pytest.approx(0.005)
    assert table.at["close", "verdict"] == "not distinguishable"
    # compared the other way round in comparisons.csv: the baseline ahead
    assert table.at["single", "verdict"] == "worse" and table.at["single", "p_holm"] == 0.003
    assert table.at["cnn", "verdict"] == "baseline" and table.at["cnn", "vs_baseline"] == 0
    assert pd.isna(table.at["cnn", "p_holm"])
    assert "beyond_spread" not in table.columns


def test_each_model_has_its_wilson_interval_over_the_test_images(table: pd.DataFrame) -> None:
    # one seed, 750 of 1,000 images right: Wilson's 95% interval, as evidence computes it
    assert table.at["single", "test_acc_low"] == pytest.approx(0.72224, abs=1e-4)
    assert table.at["single", "test_acc_high"] == pytest.approx(0.77590, abs=1e-4)
    assert table.at["cnn", "test_acc_low"] < 0.85 < table.at["cnn", "test_acc_high"]


def test_a_model_without_a_comparison_against_the_baseline_is_an_error(tmp_path: Path) -> None:
    metrics, results = {}, {}
    for model in ("cnn", "other"):
        csv_path, json_path = write_run(tmp_path, model, 0, [0.8], [0.9], 0.8)
        metrics[model], results[model] = [csv_path], [json_path]
    settings = {"cnn": BASE, "other": {**BASE, "dropout": 0.5}}
    with pytest.raises(ValueError, match="no row for other against cnn"):
        experiments_table(settings, results, metrics, baseline="cnn", comparisons=COMPARISONS)


def test_a_changed_result_or_metrics_file_is_refused(tmp_path: Path) -> None:
    csv_path, json_path = write_run(tmp_path, "cnn", 0, [0.8], [0.9], 0.8)
    assert read_result(json_path)["test_acc"] == 0.8
    assert len(read_metrics(csv_path)) == 1
    Path(csv_path).write_text(Path(csv_path).read_text().replace("0.8", "0.9"))
    with pytest.raises(CorruptOutput, match=r"seed0\.csv: its checksum differs"):
        read_metrics(csv_path)
    result = json.loads(Path(json_path).read_text())
    Path(json_path).write_text(json.dumps({**result, "test_acc": 0.99}))
    with pytest.raises(CorruptOutput, match="does not match the seal"):
        read_result(json_path)


def test_the_default_cache_is_the_users_own(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    folder = output_cache(environ)
    assert folder == tmp_path / "xdg" / "fashion-mnist-study"
    assert environ[CACHE_VARIABLE] == str(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_cache_named_by_the_user_is_used_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "team"
    shared.mkdir(mode=0o2775)
    mode = stat.S_IMODE(shared.stat().st_mode)
    assert output_cache({CACHE_VARIABLE: str(shared), "XDG_CACHE_HOME": "/nowhere"}) == shared
    assert stat.S_IMODE(shared.stat().st_mode) == mode  # permissions are the team's choice
    assert os.environ.get(CACHE_VARIABLE) != str(shared)  # only the given mapping is set


def test_a_named_cache_that_does_not_exist_yet_is_created_private(tmp_path: Path) -> None:
    folder = output_cache({CACHE_VARIABLE: str(tmp_path / "new" / "cache")})
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
