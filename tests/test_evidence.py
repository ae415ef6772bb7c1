"""The statistics behind every comparison, against published and hand-computed values, and the
comparison tables built from predictions."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import MODELS
from test_per_class import write as write_predictions

from fashion_mnist_study.analysis import comparisons, evidence

# --- intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("right", "n", "low", "high"),
    [  # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table II
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(right, n, low, high) -> None:
    interval = evidence.wilson_interval(right, n, 0.95)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_newcombe_paired_interval_matches_the_published_example() -> None:
    # Cavo et al. (2012) as in Fagerland, Lydersen and Laake, "Statistical Analysis of
    # Contingency Tables", chapter 8: 59 both, 6 only before, 16 only after, 80 neither;
    # difference -0.0621, Newcombe square-and-add 95% CI -0.1186 to -0.0046.
    interval = evidence.newcombe_paired_interval(59, 6, 16, 80, 0.95)
    assert (round(interval.low, 4), round(interval.high, 4)) == (-0.1186, -0.0046)
    assert interval.low <= (6 - 16) / 161 <= interval.high


def test_newcombe_interval_is_symmetric_when_b_equals_c_and_around_zero() -> None:
    interval = evidence.newcombe_paired_interval(5, 3, 3, 2, 0.95)
    assert interval.low == pytest.approx(-interval.high)
    assert interval.low < 0 < interval.high


def test_newcombe_interval_without_discordant_images_still_has_width() -> None:
    # every image right for both (b + c = 0): the difference 0 is not known exactly
    interval = evidence.newcombe_paired_interval(10, 0, 0, 0, 0.95)
    assert interval.low < 0 < interval.high


def test_seed_mean_interval_is_students_t() -> None:
    # mean 0.91, sd 0.01, n 3: t(0.975, 2) = 4.302653 -> half-width 4.302653 * 0.01 / sqrt(3)
    interval = evidence.seed_mean_interval([0.90, 0.91, 0.92], 0.95)
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert interval.low == pytest.approx(0.91 - half, abs=1e-6)
    assert interval.high == pytest.approx(0.91 + half, abs=1e-6)
    assert evidence.seed_mean_interval([0.9], 0.95) is None
    assert evidence.seed_mean_interval([0.9, 0.9], 0.95) == evidence.Interval(0.9, 0.9)


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (6, 16, 2 * 110056 / 2**22),  # 2 * P(X <= 6), X ~ Bin(22, 1/2): 0.052479 (Cavo et al.)
        (0, 5, 2 / 32),  # all five discordant images one way: 2 * (1/2)^5
        (1, 1, 1.0),  # b = c: no evidence of a difference
        (3, 3, 1.0),
        (0, 0, 1.0),  # no discordant image at all
    ],
)
def test_mcnemar_exact_p_matches_the_binomial_by_hand(b, c, p) -> None:
    assert evidence.mcnemar_exact_p(b, c) == pytest.approx(p)
    assert evidence.mcnemar_exact_p(c, b) == pytest.approx(p)


def test_welch_test_and_interval() -> None:
    result = evidence.welch([0.90, 0.91, 0.92], [0.87, 0.88, 0.89], 0.95)
    # equal variances and sizes: t = 0.03 / sqrt(2 * 0.0001 / 3) = 3.674, df = 4
    assert result.p == pytest.approx(0.021312, abs=1e-5)
    assert 0 < result.interval.low <= 0.03 <= result.interval.high
    without_spread = evidence.welch([0.9, 0.9], [0.8, 0.8], 0.95)
    assert math.isnan(without_spread.p)


def test_holm_adjusts_a_known_list() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone
    assert evidence.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = evidence.holm([0.2, math.nan, 0.01])
    assert adjusted[0] == pytest.approx(0.2) and adjusted[2] == pytest.approx(0.02)
    assert math.isnan(adjusted[1])


@pytest.mark.parametrize(
    ("difference", "p", "expected"),
    [
        (0.01, 0.049, "cnn ahead"),
        (-0.01, 0.001, "mlp ahead"),
        (0.01, 0.05, "not distinguishable"),  # p must be below alpha
        (0.01, math.nan, "not distinguishable"),
    ],
)
def test_verdict_wording(difference, p, expected) -> None:
    assert evidence.verdict("cnn", "mlp", difference, p, 0.05) == expected


# --- comparison tables -----------------------------------------------------------------------


def right_of(n: int, wrong: list[int]) -> np.ndarray:
    right = np.ones(n, dtype=bool)
    right[wrong] = False
    return right


def test_compared_pairs_are_the_studys_then_every_model_against_the_baseline() -> None:
    models = [*MODELS, "cnn-dropout-0.3"]
    assert comparisons.compared_pairs(models, "cnn") == [
        ("cnn_regularized", "cnn"),
        ("cnn", "mlp"),
        ("cnn-dropout-0.3", "cnn"),
    ]
    assert comparisons.compared_pairs(models, "mlp")[2:] == [
        ("cnn_regularized", "mlp"),
        ("cnn-dropout-0.3", "mlp"),
    ]


def test_a_swept_model_is_compared_with_its_sweeps_base_as_well() -> None:
    models = [*MODELS, "cnn-precision-bfloat16", "mlp-precision-bfloat16"]
    bases = {"cnn-precision-bfloat16": "cnn", "mlp-precision-bfloat16": "mlp"}
    assert comparisons.compared_pairs(models, "cnn", bases)[2:] == [
        ("cnn-precision-bfloat16", "cnn"),  # the baseline is its base: listed once
        ("mlp-precision-bfloat16", "cnn"),
        ("mlp-precision-bfloat16", "mlp"),
    ]


def test_one_seed_comparison_counts_b_and_c_and_rests_on_mcnemar() -> None:
    # 100 images: a wrong on 0-9, b wrong on 5-24 -> b (only a right) = 15, c = 5
    right = {
        "a": right_of(100, list(range(10)))[None],
        "b": right_of(100, list(range(5, 25)))[None],
    }
    row = comparisons.comparisons_table(right, [("a", "b")], alpha=0.05).iloc[0]
    assert (row["b"], row["c"], row["n_test"]) == ("15", "5", 100)
    assert row["difference"] == pytest.approx(0.10)
    assert row["test"] == evidence.MCNEMAR and row["interval"] == evidence.NEWCOMBE
    assert row["p_value"] == pytest.approx(evidence.mcnemar_exact_p(15, 5))
    expected = evidence.newcombe_paired_interval(75, 15, 5, 5, 0.95)
    assert (row["difference_low"], row["difference_high"]) == (expected.low, expected.high)
    assert row["acc_a_low"] == evidence.wilson_interval(90, 100, 0.95).low
    assert math.isnan(row["acc_a_seeds_low"])
    assert row["verdict"] == "a ahead" and row["distinguishable"]  # p = 0.041


def test_holm_over_the_table_can_overturn_a_single_verdict() -> None:
    base = right_of(100, list(range(10)))[None]
    right = {"a": base, "b": right_of(100, list(range(5, 25)))[None], "c": base.copy()}
    table = comparisons.comparisons_table(right, [("a", "b"), ("c", "b"), ("a", "c")], 0.05)
    assert list(table["p_value"].round(4)) == [0.0414, 0.0414, 1.0]
    # sorted 0.0414, 0.0414, 1 -> x3, x2, x1 = 0.1242, 0.0828, 1 -> monotone: 0.1242, 0.1242
    assert list(table["p_holm"].round(4)) == [0.1242, 0.1242, 1.0]
    assert list(table["verdict"]) == ["not distinguishable"] * 3


def test_several_seeds_rest_on_welch_and_report_mcnemar_per_seed_pair() -> None:
    a = np.stack([right_of(100, list(range(k))) for k in (8, 10, 12)])
    b = np.stack([right_of(100, list(range(k))) for k in (20, 22, 24)])
    row = comparisons.comparisons_table({"a": a, "b": b}, [("a", "b")], 0.05).iloc[0]
    assert row["test"] == evidence.WELCH_TEST and row["interval"] == evidence.WELCH_INTERVAL
    assert (row["b"], row["c"]) == ("12 12 12", "0 0 0")
    assert row["mcnemar_p"] == " ".join(f"{evidence.mcnemar_exact_p(12, 0):.6g}" for _ in a)
    welch = evidence.welch([0.92, 0.90, 0.88], [0.80, 0.78, 0.76], 0.95)
    assert row["p_value"] == pytest.approx(welch.p)
    assert (row["seeds_a"], row["seeds_b"]) == (3, 3)
    assert row["acc_a_seeds_low"] < 0.90 < row["acc_a_seeds_high"]


def test_class_comparisons_compare_each_class_on_its_own_images() -> None:
    labels = np.repeat(np.arange(2), 50)
    cnn = right_of(100, list(range(0, 5)) + list(range(50, 52)))[None]  # class 0: 45, 1: 48
    mlp = right_of(100, list(range(0, 25)) + list(range(50, 53)))[None]  # class 0: 25, 1: 47
    table = comparisons.class_comparisons_table({"cnn": cnn, "mlp": mlp}, labels, ["A", "B"], 0.05)
    assert list(table["class"]) == ["A", "B"]
    assert list(table["n_test"]) == [50, 50]
    assert list(table["b"]) == ["20", "1"] and list(table["c"]) == ["0", "0"]
    assert list(table["verdict"]) == ["cnn ahead", "not distinguishable"]
    assert table["p_holm"].iloc[0] == pytest.approx(2 * evidence.mcnemar_exact_p(20, 0))


def test_models_with_different_test_labels_are_refused(tmp_path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    first = write_predictions(tmp_path, "a", labels, labels)
    second = write_predictions(tmp_path, "b", labels, labels[::-1])
    with pytest.raises(ValueError, match="test labels differ"):
        comparisons.right_answers({"a": [first], "b": [second]})


def test_accuracy_summary_gives_each_model_its_intervals() -> None:
    results = pd.DataFrame(
        {
            "model": ["a", "a", "b"],
            "seed": [0, 1, 0],
            "test_acc": [0.90, 0.92, 0.75],
            "n_test": 1000,
            "params": [1, 1, 2],
            "epochs": 2,
        }
    )
    table = comparisons.accuracy_summary(results).set_index("model")
    assert list(table.columns) == comparisons.TEST_ACCURACY_COLUMNS[1:]
    assert table.at["b", "test_acc_low"] == evidence.wilson_interval(750, 1000, 0.95).low
    assert math.isnan(table.at["b", "test_acc_seeds_low"])
    assert table.at["a", "test_acc_low"] == evidence.wilson_interval(910, 1000, 0.95).low
    assert table.at["a", "test_acc_seeds_low"] < 0.91 < table.at["a", "test_acc_seeds_high"]


def test_the_statistics_jobs_import_no_torch() -> None:
    """The comparisons, test-accuracy and experiments jobs stay light: no PyTorch."""
    code = (
        "import sys, fashion_mnist_study.analysis.comparisons, "
        "fashion_mnist_study.outputs.experiments; print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
