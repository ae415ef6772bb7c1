"""One comparison of every model trained (the study's and any others from the config): its
settings where they differ, its cost and accuracy, and its difference from a baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_mnist_study.summary import load_curves, load_results, mean_and_spread

SUMMARY_COLUMNS = [
    "params",
    "epochs",
    "seeds",
    "test_acc_mean",
    "test_acc_std",
    "best_val_acc",
    "final_gap",
    "train_seconds",
    "vs_baseline",
    "beyond_spread",
]


def varying_settings(settings: dict[str, dict]) -> list[str]:
    """The settings (beside the architecture) whose value is not the same for every model,
    by name."""
    keys = sorted({key for section in settings.values() for key in section})
    return [
        key
        for key in keys
        if key != "architecture" and len({repr(s.get(key)) for s in settings.values()}) > 1
    ]


def experiments_table(
    settings: dict[str, dict],
    results: dict[str, list[str]],
    metrics: dict[str, list[str]],
    baseline: str,
) -> pd.DataFrame:
    """One row per model (in the order of `settings`): model, architecture, every setting that
    differs between the models, then SUMMARY_COLUMNS. `vs_baseline` is the test accuracy minus
    the baseline's (a fraction, like the accuracies); `beyond_spread` says whether it exceeds
    the larger of the two standard deviations over seeds, empty where either has one seed."""
    varying = varying_settings(settings)
    rows = []
    for model, section in settings.items():
        result = load_results(results[model])
        curves = load_curves(metrics[model])
        accuracy = mean_and_spread(result.groupby("model")["test_acc"]).iloc[0]
        rows.append(
            {
                "model": model,
                "architecture": section["architecture"],
                **{key: _cell(section.get(key)) for key in varying},
                "params": int(result["params"].iloc[0]),
                "epochs": int(section["epochs"]),
                "seeds": len(result),
                "test_acc_mean": accuracy["mean"],
                "test_acc_std": accuracy["std"],
                "best_val_acc": float(curves.val_acc.max(axis=1).mean()),
                "final_gap": float(curves.gap[:, -1].mean()),
                "train_seconds": float(result["seconds"].mean()),
            }
        )
    table = pd.DataFrame(rows)
    reference = table.set_index("model").loc[baseline]
    table["vs_baseline"] = table["test_acc_mean"] - reference["test_acc_mean"]
    spread = np.maximum(table["test_acc_std"], reference["test_acc_std"])
    judged = (table["seeds"] > 1) & (reference["seeds"] > 1) & (table["model"] != baseline)
    table["beyond_spread"] = (table["vs_baseline"].abs() > spread).where(judged).astype("boolean")
    return table


def _cell(value: object) -> object:
    """A setting as one table cell: lists as 2176x128x128, absent settings empty."""
    if isinstance(value, list):
        return "x".join(map(str, value))
    return "" if value is None else value
