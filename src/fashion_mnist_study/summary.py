"""Read training results and summarize them over seeds (mean and spread)."""

from __future__ import annotations

import csv
import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEST_ACCURACY_COLUMNS = [
    "model",
    "seeds",
    "n_seeds",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_min",
    "test_acc_max",
    "params",
    "epochs",
]

# Keys of a training result (results/metrics/{model}/seed{seed}.json) and metrics columns that
# measure what a run cost, not what it learned: they differ between any two runs.
COST_KEYS = frozenset({"seconds", "seconds_this_run", "seconds_before_first_step"})


def learned(record: dict) -> dict:
    """A training result or metrics row without its cost: what a rerun must reproduce."""
    return {key: value for key, value in record.items() if key not in COST_KEYS}


# The study's reported numbers, shown beside this run's everywhere.
STUDY = {
    "cnn_test_acc": 0.9159,
    "cnn_regularized_test_acc": 0.9191,
    "mlp_vs_cnn_cnn_test_acc": 0.9148,
    "mlp_test_acc": 0.8054,
    "cnn_params": 2_003_754,
    "mlp_params": 2_005_610,
}


@dataclass(frozen=True)
class Curves:
    """Per-epoch metrics of one model: arrays of shape (n_seeds, n_epochs)."""

    epochs: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray

    @property
    def n_seeds(self) -> int:
        return self.train_acc.shape[0]

    @property
    def gap(self) -> np.ndarray:
        """Training minus validation accuracy, per seed and epoch."""
        return self.train_acc - self.val_acc


def read_metrics_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no epochs recorded")
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}


def load_curves(paths: list[str]) -> Curves:
    """Stack the per-epoch metrics of several seeds of one model."""
    runs = [read_metrics_csv(path) for path in paths]
    lengths = {len(run["epoch"]) for run in runs}
    if len(lengths) != 1:
        raise ValueError(f"seeds of one model have different epoch counts {lengths}: {paths}")
    stack = {key: np.stack([run[key] for run in runs]) for key in runs[0]}
    return Curves(
        epochs=stack["epoch"][0].astype(int),
        train_acc=stack["train_acc"],
        val_acc=stack["val_acc"],
        train_loss=stack["train_loss"],
        val_loss=stack["val_loss"],
    )


def load_results(paths: list[str]) -> list[dict]:
    return [json.loads(Path(path).read_text()) for path in paths]


def spread(values: list[float]) -> float:
    """Sample standard deviation; 0 for a single seed."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def accuracy_summary_rows(results: list[dict]) -> list[dict]:
    by_model: dict[str, list[dict]] = {}
    for result in results:
        by_model.setdefault(result["model"], []).append(result)
    rows = []
    for model, runs in by_model.items():
        accs = [run["test_acc"] for run in runs]
        rows.append(
            {
                "model": model,
                "seeds": " ".join(str(run["seed"]) for run in runs),
                "n_seeds": len(runs),
                "test_acc_mean": statistics.fmean(accs),
                "test_acc_std": spread(accs),
                "test_acc_min": min(accs),
                "test_acc_max": max(accs),
                "params": runs[0]["params"],
                "epochs": runs[0]["epochs"],
            }
        )
    return rows


def read_table(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
