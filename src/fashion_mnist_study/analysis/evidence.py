"""Evidence for a comparison of two classifiers tested on the same images: intervals for their
accuracies and for the difference, paired tests, and verdicts corrected for multiplicity.

The distributions come from SciPy (the binomial test and its Wilson interval, Student's t);
Holm's step-down correction from statsmodels, since SciPy's `false_discovery_control` offers
only Benjamini-Hochberg and Benjamini-Yekutieli. No torch here: the statistics jobs stay light.

Two models evaluated on the same test images are paired: an image is right for both, for one
of them, or for neither. With one seed per model the difference of accuracies is judged by
McNemar's exact test on the images only one model gets right (Dietterich 1998), with Newcombe's
paired score interval for the difference. With several seeds the training procedures
themselves are compared: Welch's t-test on the seeds' accuracies and its interval; McNemar is
then reported per seed pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

# Every interval is a 95% interval; verdicts are at the configured level (evidence.alpha).
CONFIDENCE = 0.95
# How each interval and test is named in tables and sentences.
WILSON = "Wilson score"
NEWCOMBE = "Newcombe paired score"
WELCH_INTERVAL = "Welch t"
MCNEMAR = "McNemar exact"
WELCH_TEST = "Welch t over seeds"
NOT_DISTINGUISHABLE = "not distinguishable"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(right: int, n: int, confidence: float) -> Interval:
    """Wilson score interval of a proportion: `right` successes out of `n`."""
    ci = stats.binomtest(int(right), int(n)).proportion_ci(confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high))


def seed_mean_interval(values: Sequence[float], confidence: float) -> Interval | None:
    """Student t interval of the mean of several seeds' values; None for a single seed."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    if np.ptp(values) == 0:  # no spread: SciPy's t interval is NaN, the mean is exact
        return Interval(float(values[0]), float(values[0]))
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return Interval(float(ci.low), float(ci.high))


def accuracy_intervals(
    per_seed: Sequence[float], n: int, confidence: float = CONFIDENCE
) -> tuple[Interval, Interval | None]:
    """A model's test accuracy over its seeds: the Wilson interval over the n test images (of
    the seeds' mean count of right images, rounded: exact for one seed) and, with several
    seeds, the t interval of the mean over them."""
    mean = float(np.mean(per_seed))
    return wilson_interval(round(mean * n), n, confidence), seed_mean_interval(per_seed, confidence)


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p: of the b + c images only one model gets right, is the
    split b : c more uneven than a fair coin would give? 1 when b + c = 0."""
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(int(b), int(b + c), 0.5).pvalue)


def newcombe_paired_interval(a: int, b: int, c: int, d: int, confidence: float) -> Interval:
    """Newcombe's (1998) square-and-add interval for p1 - p2 from paired data (his method
    10): Wilson intervals of both accuracies, combined with their correlation. a: both right,
    b: only the first, c: only the second, d: neither."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    first, second = wilson_interval(a + b, n, confidence), wilson_interval(a + c, n, confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    excess = a * d - b * c
    # Newcombe's correlation: 0 without variation in a margin; a positive excess is first
    # reduced by n/2 (a continuity correction of the phi coefficient), down to 0.
    if margins == 0 or 0 <= excess <= n / 2:
        phi = 0.0
    else:
        phi = (excess - n / 2 if excess > 0 else excess) / math.sqrt(margins)
    below = _square_and_add(p1 - first.low, second.high - p2, phi)
    above = _square_and_add(p2 - second.low, first.high - p1, phi)
    return Interval(p1 - p2 - below, p1 - p2 + above)


def _square_and_add(x: float, y: float, phi: float) -> float:
    """Two distances from a Wilson interval's ends to its accuracy, combined with their
    correlation `phi` into one distance of the difference."""
    return math.sqrt(x**2 - 2 * phi * x * y + y**2)


@dataclass(frozen=True)
class Welch:
    p: float
    interval: Interval


def welch(first: Sequence[float], second: Sequence[float], confidence: float) -> Welch:
    """Welch's t-test of two sets of seeds' accuracies, and the interval of the difference of
    their means. Without spread in either set the test is undefined: p is NaN."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if np.ptp(first) == 0 and np.ptp(second) == 0:
        difference = float(first[0] - second[0])
        return Welch(math.nan, Interval(difference, difference))
    result = stats.ttest_ind(first, second, equal_var=False)
    ci = result.confidence_interval(confidence)
    return Welch(float(result.pvalue), Interval(float(ci.low), float(ci.high)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN, out of the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        adjusted[tested] = multipletests(p[tested], method="holm")[1]
    return adjusted.tolist()


def verdict(first: str, second: str, difference: float, p_adjusted: float, alpha: float) -> str:
    """'<model> ahead' where the adjusted p is below alpha, else 'not distinguishable' (also
    when the test was undefined)."""
    if not p_adjusted < alpha:
        return NOT_DISTINGUISHABLE
    return f"{first if difference > 0 else second} ahead"
