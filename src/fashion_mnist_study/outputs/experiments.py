"""One comparison of every model trained (the study's and any others from the config): its
settings where they differ, its cost and accuracy with its interval, and its difference from a
baseline with the verdict of comparisons.csv."""

from __future__ import annotations

import os

import pandas as pd

from fashion_mnist_study.analysis.comparisons import interval_columns
from fashion_mnist_study.analysis.results import mean_and_spread, read_curves, read_results
from fashion_mnist_study.core.settings import setting_cells, varying_settings

SUMMARY_COLUMNS = [
    "params",
    "epochs",
    "seeds",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_low",
    "test_acc_high",
    "best_val_acc",
    "final_gap",
    "train_seconds",
    "vs_baseline",
    "p_holm",
    "verdict",
]


def experiments_table(
    settings: dict[str, dict],
    results: dict[str, list[str]],
    metrics: dict[str, list[str]],
    baseline: str,
    comparisons: pd.DataFrame,
) -> pd.DataFrame:
    """One row per model (in the order of `settings`): model, architecture, every setting that
    differs between the models, then SUMMARY_COLUMNS. `test_acc_low`/`_high` is the Wilson
    interval over the test images; `vs_baseline` the test accuracy minus the baseline's (a
    fraction, like the accuracies); `p_holm` and `verdict` (better, worse, not
    distinguishable; `baseline` for the baseline) come from the comparisons table's row of
    the model and the baseline."""
    varying = varying_settings(settings)
    rows = []
    for model, section in settings.items():
        result = read_results(results[model])
        curves = read_curves(metrics[model])
        accuracy = mean_and_spread(result.groupby("model")["test_acc"]).iloc[0]
        rows.append(
            {
                "model": model,
                "architecture": section["architecture"],
                **setting_cells(section, varying),
                "params": int(result["params"].iloc[0]),
                "epochs": int(section["epochs"]),
                "seeds": len(result),
                "test_acc_mean": accuracy["mean"],
                "test_acc_std": accuracy["std"],
                **interval_columns(result["test_acc"], int(result["n_test"].iloc[0]), "test_acc"),
                "best_val_acc": float(curves.val_acc.max(axis=1).mean()),
                "final_gap": float(curves.gap[:, -1].mean()),
                "train_seconds": float(result["seconds"].mean()),
            }
        )
    table = pd.DataFrame(rows).drop(columns=["test_acc_seeds_low", "test_acc_seeds_high"])
    reference = table.set_index("model").loc[baseline]
    table["vs_baseline"] = table["test_acc_mean"] - reference["test_acc_mean"]
    judged = [against_baseline(model, baseline, comparisons) for model in table["model"]]
    table["p_holm"] = [p for p, _ in judged]
    table["verdict"] = [verdict for _, verdict in judged]
    return table


def against_baseline(model: str, baseline: str, comparisons: pd.DataFrame) -> tuple[float, str]:
    """The Holm-adjusted p of `model` against `baseline` in the comparisons table (either
    order), and its verdict from the model's side: better, worse or not distinguishable."""
    if model == baseline:
        return float("nan"), "baseline"
    forward = (comparisons["model_a"] == model) & (comparisons["model_b"] == baseline)
    backward = (comparisons["model_a"] == baseline) & (comparisons["model_b"] == model)
    rows = comparisons[forward | backward]
    if rows.empty:
        raise ValueError(f"the comparisons table has no row for {model} against {baseline}")
    row = rows.iloc[0]
    words = {f"{model} ahead": "better", f"{baseline} ahead": "worse"}
    return float(row["p_holm"]), words.get(row["verdict"], row["verdict"])


def accuracy_by_setting(
    settings: dict[str, dict], test_accuracy: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Per model its test accuracy (test_accuracy.csv's columns) beside its value of each
    setting that differs between the models; and those settings, by name."""
    varying = varying_settings(settings)
    cells = pd.DataFrame(
        [{"model": model, **setting_cells(section, varying)} for model, section in settings.items()]
    )
    return cells.merge(test_accuracy, on="model", validate="one_to_one"), varying


def setting_columns(table: pd.DataFrame) -> list[str]:
    """The columns of experiments_table's settings that differ: between the architecture and
    SUMMARY_COLUMNS."""
    columns = list(table.columns)
    return columns[columns.index("architecture") + 1 : columns.index(SUMMARY_COLUMNS[0])]


def read_experiments(path: str | os.PathLike[str]) -> pd.DataFrame:
    """experiments.csv as written: a setting a model does not have stays an empty cell."""
    return pd.read_csv(path, keep_default_na=False, na_values="")


def ranking(table: pd.DataFrame) -> list[str]:
    """The models of experiments.csv by test accuracy, best first; one without it last."""
    ranked = table.sort_values("test_acc_mean", ascending=False, na_position="last", kind="stable")
    return list(ranked["model"])
