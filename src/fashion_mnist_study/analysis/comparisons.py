"""Every comparison the study makes, with its evidence, from the models' test predictions:
results/tables/comparisons.csv (the study's pairs, every model against the baseline and every
swept model against its sweep's base) and
results/tables/class_comparisons.csv (the CNN against the MLP, class by class)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import fashion_mnist_study.analysis.evidence as evidence
from fashion_mnist_study.analysis.results import mean_and_spread
from fashion_mnist_study.core.settings import COURSEWORK_PAIRS
from fashion_mnist_study.study.predictions import stack_predictions

CLASS_PAIR = ("cnn", "mlp")

# acc_a: the first model's mean test accuracy over its seeds; _low/_high its Wilson interval
# over the test images, _seeds_low/_seeds_high the Student t interval of the mean over seeds
# (empty for one seed). difference: acc_a - acc_b, with its interval (named in `interval`).
# b, c: images right only for the first / only for the second model, and mcnemar_p, per seed
# pair (space-separated with several seeds). test, p_value: the test the verdict rests on;
# p_holm: adjusted over the table's rows; distinguishable: p_holm < alpha; verdict: which
# model is ahead, or "not distinguishable".
COMPARISON_COLUMNS = [
    "model_a",
    "model_b",
    "seeds_a",
    "seeds_b",
    "n_test",
    "acc_a",
    "acc_a_low",
    "acc_a_high",
    "acc_a_seeds_low",
    "acc_a_seeds_high",
    "acc_b",
    "acc_b_low",
    "acc_b_high",
    "acc_b_seeds_low",
    "acc_b_seeds_high",
    "difference",
    "difference_low",
    "difference_high",
    "interval",
    "b",
    "c",
    "mcnemar_p",
    "test",
    "p_value",
    "p_holm",
    "distinguishable",
    "verdict",
]


TEST_ACCURACY_COLUMNS = [
    "model",
    "seeds",
    "n_seeds",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_min",
    "test_acc_max",
    "test_acc_low",
    "test_acc_high",
    "test_acc_seeds_low",
    "test_acc_seeds_high",
    "params",
    "epochs",
]


def interval_columns(per_seed: pd.Series, n_test: int, prefix: str) -> dict[str, float]:
    """`prefix`_low/_high: the Wilson interval over the test images; _seeds_low/_seeds_high:
    the t interval of the mean over seeds (NaN for one seed); see evidence.accuracy_intervals."""
    images, seeds = evidence.accuracy_intervals(per_seed, n_test)
    return {
        f"{prefix}_low": images.low,
        f"{prefix}_high": images.high,
        f"{prefix}_seeds_low": seeds.low if seeds else math.nan,
        f"{prefix}_seeds_high": seeds.high if seeds else math.nan,
    }


def accuracy_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per model over its seeds, with its intervals (TEST_ACCURACY_COLUMNS),
    models in file order."""
    by_model = results.groupby("model", sort=False)
    accuracy = mean_and_spread(by_model["test_acc"])
    intervals = pd.DataFrame(
        {
            model: interval_columns(group["test_acc"], int(group["n_test"].iloc[0]), "test_acc")
            for model, group in by_model
        }
    ).T
    table = pd.DataFrame(
        {
            "seeds": by_model["seed"].agg(lambda seeds: " ".join(map(str, seeds))),
            "n_seeds": by_model.size(),
            "test_acc_mean": accuracy["mean"],
            "test_acc_std": accuracy["std"],
            "test_acc_min": by_model["test_acc"].min(),
            "test_acc_max": by_model["test_acc"].max(),
            **intervals,
            "params": by_model["params"].first(),
            "epochs": by_model["epochs"].first(),
        }
    )
    return table.rename_axis("model").reset_index()[TEST_ACCURACY_COLUMNS]


def compared_pairs(
    models: list[str], baseline: str, sweep_bases: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The study's pairs, then every other model against `baseline` and, for a model a sweep
    made, against the sweep's base too (what the sweep changed: `mlp-precision-bfloat16`
    against `mlp`); a pair already listed (in either order) is not repeated."""
    pairs = list(COURSEWORK_PAIRS)
    for model in models:
        for reference in (baseline, (sweep_bases or {}).get(model)):
            if reference in (None, model) or {model, reference} in map(set, pairs):
                continue
            pairs.append((model, reference))
    return pairs


def right_answers(predictions: dict[str, list[str]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per model, whether each seed got each test image right (n_seeds, n_images), and the
    labels, which every model must share."""
    right, labels = {}, None
    for model, paths in predictions.items():
        predicted, model_labels = stack_predictions(paths)
        if labels is not None and not np.array_equal(labels, model_labels):
            raise ValueError(f"{paths[0]}: its test labels differ from the other models'")
        labels = model_labels
        right[model] = predicted == model_labels
    return right, labels


def accuracy_columns(right: np.ndarray, prefix: str) -> dict[str, float]:
    """A model's mean accuracy over its seeds and its intervals (interval_columns)."""
    per_seed = right.mean(axis=1)
    return {prefix: float(per_seed.mean()), **interval_columns(per_seed, right.shape[1], prefix)}


def paired_columns(first: np.ndarray, second: np.ndarray) -> dict[str, object]:
    """The difference first - second on the same images with its interval, McNemar per seed
    pair, and the test a verdict rests on: McNemar with one seed, Welch with several."""
    if first.shape != second.shape:
        raise ValueError(f"paired comparison of {first.shape} with {second.shape} results")
    only_first = (first & ~second).sum(axis=1)
    only_second = (~first & second).sum(axis=1)
    mcnemar = [evidence.mcnemar_exact_p(b, c) for b, c in zip(only_first, only_second, strict=True)]
    if len(first) == 1:
        both, neither = int((first & second).sum()), int((~first & ~second).sum())
        b, c = int(only_first[0]), int(only_second[0])
        interval = evidence.newcombe_paired_interval(both, b, c, neither, evidence.CONFIDENCE)
        method, test, p = evidence.NEWCOMBE, evidence.MCNEMAR, mcnemar[0]
    else:
        welch = evidence.welch(first.mean(axis=1), second.mean(axis=1), evidence.CONFIDENCE)
        interval, p = welch.interval, welch.p
        method, test = evidence.WELCH_INTERVAL, evidence.WELCH_TEST
    return {
        "difference": float(first.mean() - second.mean()),
        "difference_low": interval.low,
        "difference_high": interval.high,
        "interval": method,
        "b": " ".join(map(str, only_first)),
        "c": " ".join(map(str, only_second)),
        "mcnemar_p": " ".join(f"{p:.6g}" for p in mcnemar),
        "test": test,
        "p_value": p,
    }


def judged(rows: list[dict[str, object]], alpha: float) -> pd.DataFrame:
    """Rows of comparisons as a table, each with its Holm-adjusted p and its verdict."""
    table = pd.DataFrame(rows)
    table["p_holm"] = evidence.holm(table["p_value"])
    table["distinguishable"] = table["p_holm"] < alpha
    table["verdict"] = [
        evidence.verdict(a, b, difference, p, alpha)
        for a, b, difference, p in table[["model_a", "model_b", "difference", "p_holm"]].itertuples(
            index=False
        )
    ]
    return table


def comparison_row(a: str, b: str, right: dict[str, np.ndarray]) -> dict:
    return {
        "model_a": a,
        "model_b": b,
        "seeds_a": len(right[a]),
        "seeds_b": len(right[b]),
        "n_test": right[a].shape[1],
        **accuracy_columns(right[a], "acc_a"),
        **accuracy_columns(right[b], "acc_b"),
        **paired_columns(right[a], right[b]),
    }


def comparisons_table(
    right: dict[str, np.ndarray], pairs: list[tuple[str, str]], alpha: float
) -> pd.DataFrame:
    """COMPARISON_COLUMNS, one row per pair, Holm's correction over all of them."""
    rows = [comparison_row(a, b, right) for a, b in pairs]
    return judged(rows, alpha)[COMPARISON_COLUMNS]


def class_names(per_class_csv: str) -> list[str]:
    """The class names in label order, as per_class_accuracy.csv lists them (torchvision's,
    read from the table so that this job imports no torch)."""
    return list(pd.read_csv(per_class_csv)["class"].drop_duplicates())


def class_comparisons_table(
    right: dict[str, np.ndarray], labels: np.ndarray, class_names: list[str], alpha: float
) -> pd.DataFrame:
    """CLASS_PAIR compared on each class's test images alone: `class`, then
    COMPARISON_COLUMNS, Holm's correction over the classes."""
    a, b = CLASS_PAIR
    rows = []
    for label, name in enumerate(class_names):
        images = labels == label
        in_class = {a: right[a][:, images], b: right[b][:, images]}
        rows.append({"class": name, **comparison_row(a, b, in_class)})
    return judged(rows, alpha)[["class", *COMPARISON_COLUMNS]]
