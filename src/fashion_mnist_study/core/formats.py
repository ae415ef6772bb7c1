"""How a number is written for people, the same on the console, in the report and in the
docs: a fraction as a percentage, a 95% interval as "low to high"."""

from __future__ import annotations


def pct(fraction: float) -> str:
    """0.9181 -> '91.81%'."""
    return f"{100 * fraction:.2f}%"


def interval(low: float, high: float, sign: str = "") -> str:
    """An interval of fractions, in percent or points: (0.9126, 0.9233) -> '91.26 to 92.33';
    `sign="+"` writes each bound's sign, for differences: '+0.42 to +1.34'."""
    return f"{100 * low:{sign}.2f} to {100 * high:{sign}.2f}"
