"""This run's numbers for the report, gathered once from the workflow's outputs (ReportInputs)
and keyed by model, with each measure over seeds (Measure)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from fashion_mnist_study.analysis.results import mean_and_spread, read_curves, read_results
from fashion_mnist_study.core.formats import interval
from fashion_mnist_study.outputs.report.inputs import ReportInputs
from fashion_mnist_study.outputs.report.wording import Measure


class RunNumbers:
    """This run's numbers, gathered once from the workflow's outputs, keyed by model."""

    def __init__(self, inputs: ReportInputs) -> None:
        self.inputs = inputs
        self.models = list(inputs.results)
        self.results = pd.concat(
            [read_results(paths) for paths in inputs.results.values()], ignore_index=True
        )
        self.curves = {model: read_curves(paths) for model, paths in inputs.metrics.items()}
        self.params = pd.read_csv(inputs.params)
        self.filter_errors = pd.read_csv(inputs.filter_errors)
        self.test_accuracy = pd.read_csv(inputs.test_accuracy).set_index("model", drop=False)
        self.comparisons = pd.read_csv(inputs.comparisons, keep_default_na=False, na_values="")
        self.class_comparisons = pd.read_csv(
            inputs.class_comparisons, keep_default_na=False, na_values=""
        )
        per_seed = pd.concat(
            pd.DataFrame(
                {
                    "model": model,
                    "final_train_acc": curves.train_acc[:, -1],
                    "final_val_acc": curves.val_acc[:, -1],
                    "best_val_acc": curves.val_acc.max(axis=1),
                    "final_gap": curves.gap[:, -1],
                }
            )
            for model, curves in self.curves.items()
        )
        self.measures = {
            column: mean_and_spread(frame.groupby("model", sort=False)[column]).assign(
                n=frame.groupby("model", sort=False).size()
            )
            for frame, columns in ((self.results, ["test_acc"]), (per_seed, list(per_seed)[1:]))
            for column in columns
        }

    def measure(self, model: str, column: str) -> Measure:
        row = self.measures[column].loc[model]
        return Measure(float(row["mean"]), float(row["std"]), int(row["n"]))

    def test_acc(self, model: str) -> Measure:
        return self.measure(model, "test_acc")

    def accuracy_text(self, model: str) -> str:
        """'91.23% (95% CI 90.66 to 91.77%)', with several seeds also the interval over them."""
        row = self.test_accuracy.loc[model]
        images = f"95% CI {interval(row['test_acc_low'], row['test_acc_high'])}%"
        if row["n_seeds"] == 1:
            return f"{self.test_acc(model).as_pct()} ({images})"
        seeds = f"{interval(row['test_acc_seeds_low'], row['test_acc_seeds_high'])}%"
        return (
            f"{self.test_acc(model).as_pct()} ({images} over the test images, {seeds} over seeds)"
        )

    def comparison(self, first: str, second: str) -> pd.Series:
        """The row of comparisons.csv that compares `first` with `second`, in this order."""
        table = self.comparisons
        rows = table[(table["model_a"] == first) & (table["model_b"] == second)]
        if rows.empty:
            raise ValueError(f"{self.inputs.comparisons}: no row compares {first} with {second}")
        return rows.iloc[0]

    def family(self) -> str:
        return f"the {len(self.comparisons)} comparisons of comparisons.csv"

    def epochs(self, model: str) -> int:
        return int(self.curves[model].epochs[-1])

    def total_params(self, model: str) -> int:
        totals = self.params[self.params["layer"] == "total"].set_index("model")["params"]
        return int(totals[model])

    def seeds_note(self) -> str:
        n = int(self.results.groupby("model").size().iloc[0])
        return (
            "one seed per model"
            if n == 1
            else f"{n} seeds per model; numbers are mean ± sample standard deviation"
        )

    def trained(self) -> str:
        """When and where the trainings ran, from their results: '2026-12-04 on cpu (AMD
        EPYC), 1 thread each'."""
        results = self.results
        stamps = results.get("trained_at", pd.Series(dtype=object))
        days = sorted({stamp[:10] for stamp in stamps if isinstance(stamp, str)})
        when = " to ".join(dict.fromkeys([days[0], days[-1]])) if days else "at a date not recorded"
        where = []
        for device, group in results.groupby("device", sort=False):
            processors = group["processor"].dropna().unique() if "processor" in group else []
            threads = sorted(group["threads"].unique()) if "threads" in group else []
            text = f"{device} ({', '.join(processors)})" if len(processors) else str(device)
            if device == "cpu" and threads:
                count = "/".join(map(str, threads))
                text += f", {count} thread{'s' if threads != [1] else ''} each"
            where.append(text)
        return f"{when} on {' and '.join(where)}"

    def fixed_settings(self, varying: list[str]) -> str:
        """The settings every model shares, from their results: 'batch_size 64, epochs 30'."""
        settings = [result for result in self.results["settings"] if isinstance(result, dict)]
        keys = sorted({key for section in settings for key in section} - {"name", *varying})
        shared = {
            key: settings[0].get(key)
            for key in keys
            if len({repr(section.get(key)) for section in settings}) == 1
        }
        return ", ".join(f"{key} {value}" for key, value in shared.items())


def source_revision() -> str:
    """Which code made the report: 'commit b835f00' ('b835f00-dirty' with uncommitted
    changes) of the workflow's git checkout, or 'a copy outside git'."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "a copy outside git"
    if described.returncode != 0:
        return "a copy outside git"
    return f"commit {described.stdout.strip()}"
