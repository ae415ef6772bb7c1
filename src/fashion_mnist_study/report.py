"""Assemble the study's report (Markdown and self-contained HTML) from this run's outputs.

Python gathers the numbers and composes the sentences that state them, keyed by model; the
Jinja2 templates in templates/ hold all markup. Every sentence of analysis is computed from
the data it describes, so the text cannot contradict the numbers; beside every number stands
the study's own value.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fashion_mnist_study.atomic import write_text
from fashion_mnist_study.settings import STUDY_MODELS
from fashion_mnist_study.summary import STUDY, load_curves, load_results, mean_and_spread

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReportInputs:
    filter_errors: str
    filters_plot: str
    params: str
    test_accuracy: str
    per_class: str
    metrics: dict[str, list[str]]  # model -> its seeds' metrics CSVs
    results: dict[str, list[str]]  # model -> its seeds' result JSONs
    curves: dict[str, str]  # model -> its training-curve figure
    confusion: dict[str, str]  # model -> its confusion-matrix figure
    overfitting: str
    mlp_vs_cnn: str
    cnn_vs_mlp_examples: str
    experiments: str  # results/tables/experiments.csv
    experiments_plot: str
    baseline: str  # the model experiments.csv compares every model with
    benchmarks: dict[str, str]  # job -> its Snakemake benchmark file
    kernel_names: list[str]
    filter_dtype: str
    pool: int


def pct(fraction: float) -> str:
    return f"{100 * fraction:.2f}%"


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
    """How a differs from b, and whether the difference exceeds the spread between seeds."""
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


def accuracy_by_class(per_class: pd.DataFrame) -> pd.DataFrame:
    """per_class_accuracy.csv as one row per class (in label order), one column per model."""
    accuracy = per_class.pivot(index="class", columns="model", values="accuracy_mean")
    return accuracy.loc[per_class["class"].drop_duplicates()]


def class_lead(per_class: pd.DataFrame, leader: str, other: str, names: tuple[str, str]) -> str:
    """Where `leader`'s accuracy exceeds `other`'s most and least, class by class (every class
    of a tie named)."""
    accuracy = accuracy_by_class(per_class)
    lead = 100 * (accuracy[leader] - accuracy[other])

    def describe(points: float) -> str:
        tied = [cls for cls in lead.index if abs(lead[cls] - points) < 1e-9]
        if len(tied) == 1:
            cls = tied[0]
            scores = f"{pct(accuracy.at[cls, leader])} against {pct(accuracy.at[cls, other])}"
            if points >= 0:
                return f"{cls} ({points:.2f} points: {scores})"
            return f"{cls}, where the {names[1]} is ahead by {-points:.2f} points ({scores})"
        classes = ", ".join(tied[:-1]) + " and " + tied[-1]
        if points >= 0:
            return f"{classes} ({points:.2f} points each)"
        return f"{classes}, where the {names[1]} is ahead by {-points:.2f} points each"

    return (
        f"Class by class, the {names[0]}'s lead over the {names[1]} is largest on "
        f"{describe(lead.max())} and smallest on {describe(lead.min())}."
    )


class Study:
    """This run's numbers, gathered once from the workflow's outputs, keyed by model."""

    def __init__(self, inputs: ReportInputs) -> None:
        self.inputs = inputs
        self.models = list(inputs.results)
        self.results = pd.concat(
            [load_results(paths) for paths in inputs.results.values()], ignore_index=True
        )
        self.curves = {model: load_curves(paths) for model, paths in inputs.metrics.items()}
        self.params = pd.read_csv(inputs.params)
        self.filter_errors = pd.read_csv(inputs.filter_errors)
        self.test_accuracy = pd.read_csv(inputs.test_accuracy)
        self.per_class = pd.read_csv(inputs.per_class)
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


def figure(path: str, alt: str) -> dict[str, str]:
    return {"path": path, "alt": alt}


def table(columns: list[str], frame: pd.DataFrame) -> dict[str, object]:
    """A table for the templates: column headings and rows of already formatted cells."""
    return {"columns": columns, "rows": frame.astype(str).to_numpy().tolist()}


def filter_sentences(study: Study) -> list[str]:
    inputs, errors = study.inputs, study.filter_errors
    sentences = []
    for output, label in (("conv", "convolution only"), ("conv_pool", "convolution + pooling")):
        rows = errors[errors["output"] == output]
        worst = rows.loc[rows["euclidean_distance"].idxmax()]
        sentences.append(
            f"{label.capitalize()}: the largest Euclidean distance between NumPy and "
            f"PyTorch is {worst['euclidean_distance']:.3g} (test image "
            f"{worst['example']}, filter {inputs.kernel_names[int(worst['filter'])]}), "
            f"the largest absolute difference of one pixel {rows['max_abs_error'].max():.3g}"
            + (" [study: about 1e-6 in float32]." if inputs.filter_dtype == "float32" else ".")
        )
    return sentences


def cost_table(benchmarks: dict[str, str], results: pd.DataFrame) -> pd.DataFrame:
    """Per job: its wall seconds and peak resident memory, from Snakemake's benchmark files;
    for the training jobs, which Snakemake cannot benchmark (they are cached), as they
    measured themselves: start-up and training seconds, peak memory."""
    rows = []
    for job, path in benchmarks.items():
        measured = pd.read_csv(path, sep="\t", na_values=["-", "NA"]).iloc[0]
        rss = measured["max_rss"]
        rows.append([job, f"{measured['s']:.1f}", "n/a" if pd.isna(rss) else f"{rss:,.0f}"])
    for result in results.to_dict("records"):
        seconds = result["seconds"] + sum(result["seconds_before_first_step"].values())
        rows.append(
            [
                f"train model={result['model']} seed={result['seed']}",
                f"{seconds:.1f}",
                f"{result['peak_rss_mb']:,.0f}",
            ]
        )
    return pd.DataFrame(rows, columns=["job", "seconds", "peak memory (MB)"])


# experiments.csv's beyond_spread, as the report words it (empty: a model with one seed).
JUDGED = {"True": "yes", "False": "no", "": "one seed: not judged"}


def experiments_section(inputs: ReportInputs) -> dict[str, object]:
    """The models beyond the study's three, and the comparison of every model."""
    frame = pd.read_csv(inputs.experiments, keep_default_na=False)
    settings = list(frame.columns[2 : frame.columns.get_loc("params")])
    spread = frame["test_acc_std"].astype(float)
    shown = (
        frame[["model", "architecture", *settings]]
        .astype(str)
        .assign(
            params=frame["params"].map("{:,}".format),
            seeds=frame["seeds"],
            test_acc=[
                Measure(mean, std, n).as_pct()
                for mean, std, n in zip(frame["test_acc_mean"], spread, frame["seeds"], strict=True)
            ],
            best_val=frame["best_val_acc"].map(pct),
            gap=(100 * frame["final_gap"]).map("{:.2f}".format),
            seconds=frame["train_seconds"].map("{:.1f}".format),
            vs_baseline=(100 * frame["vs_baseline"]).map("{:+.2f}".format),
            beyond_spread=[
                "baseline" if model == inputs.baseline else JUDGED[str(beyond)]
                for model, beyond in zip(frame["model"], frame["beyond_spread"], strict=True)
            ],
        )
    )
    columns = [
        "model", "architecture", *settings, "parameters", "seeds", "test accuracy",
        "best validation", "last gap (points)", "training s", "vs baseline (points)",
        "beyond the spread",
    ]  # fmt: skip
    return {
        "extra": [model for model in frame["model"] if model not in STUDY_MODELS],
        "baseline": inputs.baseline,
        "table": table(columns, shown),
        "figure": figure(inputs.experiments_plot, "Validation accuracy of every model"),
    }


def report_context(study: Study) -> dict[str, object]:
    """Everything the templates show: numbers as text, sentences, tables and figures."""
    inputs, errors = study.inputs, study.filter_errors
    kernel = np.asarray(inputs.kernel_names)
    params = study.params
    cnn_layers = params[params["model"] == "cnn"]
    cnn_test = study.test_acc("cnn")
    regularized_test = study.test_acc("cnn_regularized")
    mlp_test = study.test_acc("mlp")
    wide = accuracy_by_class(study.per_class)
    return {
        "seeds_note": study.seeds_note(),
        "filters": {
            "pool": inputs.pool,
            "n_examples": errors["example"].nunique(),
            "n_kernels": len(inputs.kernel_names),
            "kernels": ", ".join(inputs.kernel_names),
            "dtype": inputs.filter_dtype,
            "figure": figure(
                inputs.filters_plot, "Inputs, convolution and pooled outputs, NumPy and PyTorch"
            ),
            "sentences": filter_sentences(study),
            "table": table(
                ["output", "example", "filter", "Euclidean distance", "max abs error"],
                pd.DataFrame(
                    {
                        "output": errors["output"],
                        "example": errors["example"],
                        "filter": kernel[errors["filter"].to_numpy()],
                        "distance": errors["euclidean_distance"].map("{:.3g}".format),
                        "max": errors["max_abs_error"].map("{:.3g}".format),
                    }
                ),
            ),
        },
        "cnn": {
            "total_params": f"{study.total_params('cnn'):,}",
            "study_params": f"{STUDY['cnn_params']:,}",
            "table": table(
                ["layer", "type", "weight shape", "parameters"],
                cnn_layers[["layer", "type", "shape"]]
                .fillna("")
                .assign(params=cnn_layers["params"].map("{:,}".format)),
            ),
            "curves": figure(inputs.curves["cnn"], "CNN training and validation curves"),
            "sentence": (
                f"After {study.epochs('cnn')} epochs the CNN reaches "
                f"{study.measure('cnn', 'final_train_acc').as_pct()} training and "
                f"{study.measure('cnn', 'final_val_acc').as_pct()} validation accuracy (best "
                f"validation {study.measure('cnn', 'best_val_acc').as_pct()}); test accuracy "
                f"on {int(study.results['n_test'].iloc[0]):,} images: {cnn_test.as_pct()} "
                f"[study: {pct(STUDY['cnn_test_acc'])}]."
            ),
        },
        "regularized": {
            "curves": figure(inputs.curves["cnn_regularized"], "Regularized CNN curves"),
            "overfitting": figure(
                inputs.overfitting, "Training minus validation accuracy per epoch"
            ),
            "test_sentence": (
                f"Test accuracy of the regularized CNN: {regularized_test.as_pct()} "
                f"[study: {pct(STUDY['cnn_regularized_test_acc'])}]; plain CNN: "
                f"{cnn_test.as_pct()} [study: {pct(STUDY['cnn_test_acc'])}]. "
                + versus(
                    regularized_test,
                    cnn_test,
                    "The regularized CNN's test accuracy",
                    "the plain CNN's",
                )
            ),
            "gap_sentence": (
                "Gap between training and validation accuracy in the last epoch: "
                f"{study.measure('cnn', 'final_gap').as_points()} without regularization, "
                f"{study.measure('cnn_regularized', 'final_gap').as_points()} with it. "
                + versus(
                    study.measure("cnn_regularized", "final_gap"),
                    study.measure("cnn", "final_gap"),
                    "The regularized gap",
                    "the plain one",
                )
            ),
        },
        "mlp_vs_cnn": {
            "params_sentence": (
                f"Parameters: MLP {study.total_params('mlp'):,} [study: "
                f"{STUDY['mlp_params']:,}], CNN {study.total_params('cnn'):,} [study: "
                f"{STUDY['cnn_params']:,}]; the MLP has "
                + relative_size(study.total_params("mlp"), study.total_params("cnn"))
                + " parameters than the CNN."
            ),
            "figure": figure(inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
            "test_sentence": (
                f"Test accuracy: MLP {mlp_test.as_pct()} [study: {pct(STUDY['mlp_test_acc'])}], "
                f"CNN {cnn_test.as_pct()} [study: {pct(STUDY['mlp_vs_cnn_cnn_test_acc'])}]. "
                + versus(cnn_test, mlp_test, "The CNN's test accuracy", "the MLP's")
            ),
            "mlp_curves": figure(inputs.curves["mlp"], "MLP training and validation curves"),
            "class_sentence": class_lead(study.per_class, "cnn", "mlp", ("CNN", "MLP")),
            "class_table": table(
                ["class", "CNN", "MLP", "CNN - MLP (points)"],
                pd.DataFrame(
                    {
                        "class": wide.index,
                        "cnn": wide["cnn"].map(pct).to_numpy(),
                        "mlp": wide["mlp"].map(pct).to_numpy(),
                        "lead": (100 * (wide["cnn"] - wide["mlp"])).map("{:.2f}".format).to_numpy(),
                    }
                ),
            ),
            "confusion": [
                figure(inputs.confusion[model], f"Confusion matrix of the {name}")
                for model, name in (("cnn", "CNN"), ("mlp", "MLP"))
            ],
            "examples": figure(
                inputs.cnn_vs_mlp_examples, "Test images one model gets right and the other wrong"
            ),
        },
        "accuracy_table": table(
            ["model", "seeds", "test accuracy", "parameters", "epochs"],
            pd.DataFrame(
                {
                    "model": study.test_accuracy["model"],
                    "seeds": study.test_accuracy["seeds"],
                    "test accuracy": [
                        study.test_acc(model).as_pct() for model in study.test_accuracy["model"]
                    ],
                    "parameters": study.test_accuracy["params"].map("{:,}".format),
                    "epochs": study.test_accuracy["epochs"],
                }
            ),
        ),
        "experiments": experiments_section(inputs),
        "cost_table": table(
            ["job", "seconds", "peak memory (MB)"], cost_table(inputs.benchmarks, study.results)
        ),
    }


def data_uri(path: str) -> str:
    """A PNG file as a data: URI, so the HTML report is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def render(template: str, context: dict[str, object], relative_to: Path) -> str:
    """Render templates/<template>; HTML is autoescaped, Markdown is not."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=template.endswith(".html.j2"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["data_uri"] = data_uri
    environment.filters["relative"] = lambda path: os.path.relpath(path, relative_to)
    return environment.get_template(template).render(context)


def write_report(inputs: ReportInputs, html_path: str, markdown_path: str) -> None:
    context = report_context(Study(inputs))
    write_text(markdown_path, render("report.md.j2", context, Path(markdown_path).parent))
    write_text(html_path, render("report.html.j2", context, Path(html_path).parent))
