"""The report's sentences, composed from the numbers they state: percentages and points,
leads with their intervals, p-values, and each comparison's evidence in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from fashion_mnist_study.analysis.evidence import MCNEMAR
from fashion_mnist_study.core.formats import interval, pct
from fashion_mnist_study.core.settings import MANY_MODELS


def relative_size(a: int, b: int) -> str:
    """'0.04% more' / '1.20% fewer': a relative to b."""
    change = 100 * (a / b - 1)
    return f"{abs(change):.2f}% {'more' if change >= 0 else 'fewer'}"


@dataclass(frozen=True)
class Measure:
    """A number measured over seeds: mean and sample standard deviation (0 for one seed)."""

    mean: float
    std: float
    n: int

    def as_pct(self) -> str:
        text = pct(self.mean)
        return text if self.n == 1 else f"{text} ± {100 * self.std:.2f}"

    def as_points(self) -> str:
        text = f"{100 * self.mean:.2f} points"
        return text if self.n == 1 else f"{text} ± {100 * self.std:.2f}"


def versus(a: Measure, b: Measure, name_a: str, name_b: str) -> str:
    """How a differs from b, and whether the difference exceeds the spread between seeds (for
    training curves, which have no test behind them; test accuracies get evidence_sentence)."""
    diff = a.mean - b.mean
    relation = "higher than" if diff > 0 else "lower than" if diff < 0 else "equal to"
    sentence = f"{name_a} is {abs(100 * diff):.2f} points {relation} {name_b}"
    if a.n < 2 or b.n < 2:
        return sentence + " (one seed each: no spread between seeds to judge it against)."
    spread = max(a.std, b.std)
    larger = abs(diff) > spread
    return (
        sentence
        + f"; the difference is {'larger' if larger else 'not larger'} than the spread between "
        f"seeds ({100 * spread:.2f} points, the larger standard deviation of the two)."
    )


def p_text(p: float) -> str:
    if math.isnan(p):
        return "undefined (no spread between seeds)"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def points_interval(low: float, high: float) -> str:
    return f"95% CI {interval(low, high)}"


def lead_text(row: pd.Series, first: str, second: str) -> str:
    """Who is ahead by how much, with the 95% interval of the lead, e.g. 'the CNN is ahead of
    the MLP by 7.02 points (95% CI 6.4 to 7.6, Newcombe paired score interval)'."""
    diff, low, high = row["difference"], row["difference_low"], row["difference_high"]
    method = f"{row['interval']} interval"
    if diff < 0:
        return (
            f"the {second} is ahead of the {first} by {-100 * diff:.2f} points "
            f"({points_interval(-high, -low)}, {method})"
        )
    if diff == 0:
        return f"the {first} and the {second} are level ({points_interval(low, high)}, {method})"
    return (
        f"the {first} is ahead of the {second} by {100 * diff:.2f} points "
        f"({points_interval(low, high)}, {method})"
    )


def evidence_sentence(
    row: pd.Series, names: tuple[str, str], alpha: float, family: str, images: str = "test images"
) -> str:
    """One comparison in words: the lead and its interval, the test and its p (raw and
    Holm-adjusted over `family`), and whether the difference can be told from chance."""
    first, second = names
    lead = lead_text(row, first, second)
    lead = lead[0].upper() + lead[1:]
    can = "can" if row["distinguishable"] else "cannot"
    p = f"p = {p_text(row['p_value'])} ({p_text(row['p_holm'])} after Holm's correction over "
    if row["test"] == MCNEMAR:
        return (
            f"{lead}; McNemar's exact test on the {int(row['n_test']):,} {images} "
            f"({row['b']} right only for the {first}, {row['c']} only for the {second}): "
            f"{p}{family}): a difference this test set {can} distinguish from chance at "
            f"α = {alpha:g}."
        )
    test = (
        f"Welch's t-test over the seeds' accuracies ({row['seeds_a']} and {row['seeds_b']} seeds)"
    )
    if math.isnan(row["p_value"]):
        test += " is undefined: they do not vary"
    else:
        test += f": {p}{family})"
    per_seed = ", ".join(p_text(float(value)) for value in str(row["mcnemar_p"]).split())
    return (
        f"{lead}; {test}: a difference between the training procedures that {can} be told "
        f"from seed noise at α = {alpha:g}. McNemar's exact test per seed pair: p = {per_seed}."
    )


def class_lead(classes: pd.DataFrame, alpha: float) -> str:
    """Where the CNN's accuracy exceeds the MLP's most and least, class by class (every class
    of a tie named), each with its evidence."""
    lead = 100 * classes.set_index("class")["difference"]
    family = f"the {len(classes)} classes"

    def describe(points: float) -> str:
        tied = classes[(lead - points).abs().to_numpy() < 1e-9]
        if len(tied) == 1:
            row = tied.iloc[0]
            scores = f"{pct(row['acc_a'])} against {pct(row['acc_b'])}"
            evidence = evidence_sentence(
                row, ("CNN", "MLP"), alpha, family, "test images of the class"
            )
            return f"{row['class']} ({scores}): {evidence[0].lower()}{evidence[1:-1]}"
        names = ", ".join(tied["class"].iloc[:-1]) + " and " + tied["class"].iloc[-1]
        real = int(tied["distinguishable"].sum())
        side = "the CNN ahead by" if points >= 0 else "the MLP ahead by"
        return (
            f"{names} ({side} {abs(points):.2f} points each; {real} of {len(tied)} "
            f"distinguishable from chance at α = {alpha:g} after Holm's correction over {family})"
        )

    return (
        f"Class by class, the CNN's lead over the MLP is largest on {describe(lead.max())}; "
        f"it is smallest on {describe(lead.min())}."
    )


def seeds_text(seeds: object) -> str:
    """How many seeds and which, from test_accuracy.csv's space-separated `seeds` (which
    pandas reads as a number when there is one): '1 (0)', '3 (0, 1, 2)'."""
    listed = str(seeds).split()
    return f"{len(listed)} ({', '.join(listed)})"


def experiments_summary(frame: pd.DataFrame, baseline: str, alpha: float) -> str:
    """The verdicts against the baseline in one sentence: the models by verdict, or past
    MANY_MODELS others, how many of them each verdict has."""
    others = frame[frame["model"] != baseline]
    verdicts = ("better", "worse", "not distinguishable")
    if len(others) >= MANY_MODELS:
        counts = others["verdict"].value_counts()
        listed = ", ".join(f"{int(counts.get(verdict, 0))} {verdict}" for verdict in verdicts)
    else:
        groups = {
            verdict: ", ".join(others.loc[others["verdict"] == verdict, "model"])
            for verdict in verdicts
        }
        listed = "; ".join(f"{verdict}: {models}" for verdict, models in groups.items() if models)
    return (
        f"Against the baseline, {baseline}, at α = {alpha:g} after Holm's correction over "
        f"every comparison of comparisons.csv: {listed}."
    )


def finding(row: pd.Series, question: str) -> str:
    """One of the study's comparisons in one line: 'Regularization (cnn_regularized vs cnn):
    +0.88 points (95% CI +0.42 to +1.34), McNemar exact p = 2.0e-04 after Holm's correction:
    cnn_regularized ahead.'"""
    difference = f"{100 * row['difference']:+.2f} points"
    bounds = interval(row["difference_low"], row["difference_high"], sign="+")
    return (
        f"{question} ({row['model_a']} vs {row['model_b']}): {difference} (95% CI {bounds}), "
        f"{row['test']} p = {p_text(row['p_holm'])} after Holm's correction: {row['verdict']}."
    )
