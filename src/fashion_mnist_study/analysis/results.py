"""Read training results and summarize them over seeds (mean and spread)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy

from fashion_mnist_study.core.checksums import check_output, read_result
from fashion_mnist_study.core.paths import training_output

# Keys of a training result (results/metrics/{model}/seed{seed}.json) and metrics columns that
# differ between any two runs of the same settings: where and at what cost it ran, and the
# checksums of files that hold timings.
RUN_KEYS = frozenset(
    {
        "processor",
        "seconds",
        "seconds_this_run",
        "seconds_before_first_step",
        "trained_at",
        "peak_rss_mb",
        "peak_gpu_mb",
        "sha256",
        "seal",
    }
)


def learned(record: dict) -> dict:
    """A training result or metrics row without RUN_KEYS: what a rerun must reproduce."""
    return {key: value for key, value in record.items() if key not in RUN_KEYS}


# The coursework's reported numbers (the study this workflow reproduces), shown beside this
# run's everywhere.
COURSEWORK = {
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


def read_metrics(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A training job's metrics CSV, refused unless its bytes are the ones its job recorded."""
    check_output(path, "metrics", training_output(path, "result", given="metrics"))
    metrics = pd.read_csv(path)
    if metrics.empty:
        raise ValueError(f"{path}: no epochs recorded")
    return metrics


def check_outputs(paths: list[str], name: str) -> None:
    """Refuse training outputs `name` (weights, predictions) that are not the bytes their job
    recorded: a job that lists them as inputs stops the run at a damaged one."""
    for path in paths:
        check_output(path, name, training_output(path, "result", given=name))


def read_curves(paths: list[str]) -> Curves:
    """Stack the per-epoch metrics of several seeds of one model."""
    runs = [read_metrics(path) for path in paths]
    lengths = {len(run) for run in runs}
    if len(lengths) != 1:
        raise ValueError(f"seeds of one model have different epoch counts {lengths}: {paths}")

    def stacked(column: str) -> np.ndarray:
        return np.stack([run[column].to_numpy(dtype=float) for run in runs])

    return Curves(
        epochs=runs[0]["epoch"].to_numpy(dtype=int),
        train_acc=stacked("train_acc"),
        val_acc=stacked("val_acc"),
        train_loss=stacked("train_loss"),
        val_loss=stacked("val_loss"),
    )


def read_results(paths: list[str]) -> pd.DataFrame:
    """One row per training job's result file, in the order of `paths`, each checked."""
    return pd.DataFrame([read_result(path) for path in paths])


def mean_and_spread(values: SeriesGroupBy) -> pd.DataFrame:
    """Per group: mean and sample standard deviation, 0 (not NaN) for a single seed."""
    return pd.DataFrame({"mean": values.mean(), "std": values.std(ddof=1).fillna(0.0)})
