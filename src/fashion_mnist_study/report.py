"""Assemble the study's report (Markdown and self-contained HTML) from this run's outputs.

Python gathers the numbers and composes the sentences that state them, keyed by model; the
Jinja2 templates in templates/ hold all markup. Every sentence of analysis is computed from
the data it describes, so the text cannot contradict the numbers; beside every number stands
the study's own value.
"""

from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fashion_mnist_study.atomic import write_text
from fashion_mnist_study.evidence import MCNEMAR
from fashion_mnist_study.settings import STUDY_MODELS
from fashion_mnist_study.summary import STUDY, load_curves, load_results, mean_and_spread

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReportInputs:
    filter_errors: str
    filters_plot: str
    params: str
    test_accuracy: str
    metrics: dict[str, list[str]]  # model -> its seeds' metrics CSVs
    results: dict[str, list[str]]  # model -> its seeds' result JSONs
    curves: dict[str, str]  # model -> its training-curve figure
    confusion: dict[str, str]  # model -> its confusion-matrix figure
    overfitting: str
    mlp_vs_cnn: str
    cnn_vs_mlp_examples: str
    experiments: str  # results/tables/experiments.csv
    experiments_plot: str
    comparisons: str  # results/tables/comparisons.csv
    class_comparisons: str  # results/tables/class_comparisons.csv
    comparisons_plot: str
    baseline: str  # the model experiments.csv compares every model with
    alpha: float  # the level of every verdict
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
    return f"95% CI {100 * low:.2f} to {100 * high:.2f}"


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
        images = f"95% CI {100 * row['test_acc_low']:.2f} to {100 * row['test_acc_high']:.2f}%"
        if row["n_seeds"] == 1:
            return f"{self.test_acc(model).as_pct()} ({images})"
        seeds = f"{100 * row['test_acc_seeds_low']:.2f} to {100 * row['test_acc_seeds_high']:.2f}%"
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


def filters_section(study: Study) -> dict[str, object]:
    inputs, errors = study.inputs, study.filter_errors
    kernel = np.asarray(inputs.kernel_names)
    return {
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
    }


def cnn_section(study: Study) -> dict[str, object]:
    cnn_layers = study.params[study.params["model"] == "cnn"]
    return {
        "total_params": f"{study.total_params('cnn'):,}",
        "study_params": f"{STUDY['cnn_params']:,}",
        "table": table(
            ["layer", "type", "weight shape", "parameters"],
            cnn_layers[["layer", "type", "shape"]]
            .fillna("")
            .assign(params=cnn_layers["params"].map("{:,}".format)),
        ),
        "curves": figure(study.inputs.curves["cnn"], "CNN training and validation curves"),
        "sentence": (
            f"After {study.epochs('cnn')} epochs the CNN reaches "
            f"{study.measure('cnn', 'final_train_acc').as_pct()} training and "
            f"{study.measure('cnn', 'final_val_acc').as_pct()} validation accuracy (best "
            f"validation {study.measure('cnn', 'best_val_acc').as_pct()}); test accuracy "
            f"on {int(study.results['n_test'].iloc[0]):,} images: {study.accuracy_text('cnn')} "
            f"[study: {pct(STUDY['cnn_test_acc'])}]."
        ),
    }


def regularized_section(study: Study) -> dict[str, object]:
    inputs = study.inputs
    return {
        "curves": figure(inputs.curves["cnn_regularized"], "Regularized CNN curves"),
        "overfitting": figure(inputs.overfitting, "Training minus validation accuracy per epoch"),
        "test_sentence": (
            f"Test accuracy of the regularized CNN: {study.accuracy_text('cnn_regularized')} "
            f"[study: {pct(STUDY['cnn_regularized_test_acc'])}]; plain CNN: "
            f"{study.accuracy_text('cnn')} [study: {pct(STUDY['cnn_test_acc'])}]. "
            + evidence_sentence(
                study.comparison("cnn_regularized", "cnn"),
                ("regularized CNN", "plain CNN"),
                inputs.alpha,
                study.family(),
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
    }


def mlp_vs_cnn_section(study: Study) -> dict[str, object]:
    inputs = study.inputs
    return {
        "params_sentence": (
            f"Parameters: MLP {study.total_params('mlp'):,} [study: "
            f"{STUDY['mlp_params']:,}], CNN {study.total_params('cnn'):,} [study: "
            f"{STUDY['cnn_params']:,}]; the MLP has "
            + relative_size(study.total_params("mlp"), study.total_params("cnn"))
            + " parameters than the CNN."
        ),
        "figure": figure(inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
        "test_sentence": (
            f"Test accuracy: MLP {study.accuracy_text('mlp')} [study: "
            f"{pct(STUDY['mlp_test_acc'])}], CNN {study.accuracy_text('cnn')} [study: "
            f"{pct(STUDY['mlp_vs_cnn_cnn_test_acc'])}]. "
            + evidence_sentence(
                study.comparison("cnn", "mlp"), ("CNN", "MLP"), inputs.alpha, study.family()
            )
        ),
        "mlp_curves": figure(inputs.curves["mlp"], "MLP training and validation curves"),
        **class_section(study),
        "confusion": [
            figure(inputs.confusion[model], f"Confusion matrix of the {name}")
            for model, name in (("cnn", "CNN"), ("mlp", "MLP"))
        ],
        "examples": figure(
            inputs.cnn_vs_mlp_examples, "Test images one model gets right and the other wrong"
        ),
    }


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


def class_section(study: Study) -> dict[str, object]:
    classes = study.class_comparisons

    def with_interval(prefix: str) -> list[str]:
        bounds = zip(classes[f"{prefix}_low"], classes[f"{prefix}_high"], strict=True)
        return [
            f"{pct(accuracy)} ({100 * low:.1f}–{100 * high:.1f})"
            for accuracy, (low, high) in zip(classes[prefix], bounds, strict=True)
        ]

    return {
        "class_sentence": class_lead(classes, study.inputs.alpha),
        "class_table": table(
            ["class", "CNN (95% CI)", "MLP (95% CI)", "CNN - MLP (points, 95% CI)",
             "p (Holm)", "verdict"],
            pd.DataFrame(
                {
                    "class": classes["class"],
                    "cnn": with_interval("acc_a"),
                    "mlp": with_interval("acc_b"),
                    "lead": [
                        f"{100 * d:.2f} ({100 * low:.2f} to {100 * high:.2f})"
                        for d, low, high in classes[
                            ["difference", "difference_low", "difference_high"]
                        ].itertuples(index=False)
                    ],
                    "p": classes["p_holm"].map(p_text),
                    "verdict": classes["verdict"],
                }
            ),
        ),
    }  # fmt: skip


def seeds_text(seeds: object) -> str:
    """How many seeds and which, from test_accuracy.csv's space-separated `seeds` (which
    pandas reads as a number when there is one): '1 (0)', '3 (0, 1, 2)'."""
    listed = str(seeds).split()
    return f"{len(listed)} ({', '.join(listed)})"


def accuracy_table(study: Study) -> dict[str, object]:
    accuracy = study.test_accuracy
    return table(
        ["model", "seeds", "test accuracy", "parameters", "epochs"],
        pd.DataFrame(
            {
                "model": accuracy["model"],
                "seeds": accuracy["seeds"].map(seeds_text),
                "test accuracy": [study.accuracy_text(model) for model in accuracy["model"]],
                "parameters": accuracy["params"].map("{:,}".format),
                "epochs": accuracy["epochs"],
            }
        ),
    )


def comparisons_section(study: Study) -> dict[str, object]:
    """Every comparison of comparisons.csv: the forest plot and the table behind it."""
    rows = study.comparisons
    return {
        "alpha": f"{study.inputs.alpha:g}",
        "count": len(rows),
        "figure": figure(study.inputs.comparisons_plot, "Every comparison, with its 95% interval"),
        "table": table(
            ["comparison", "difference (points, 95% CI)", "interval", "b / c", "test", "p",
             "p (Holm)", "verdict"],
            pd.DataFrame(
                {
                    "comparison": rows["model_a"] + " vs " + rows["model_b"],
                    "difference": [
                        f"{100 * d:+.2f} ({100 * low:+.2f} to {100 * high:+.2f})"
                        for d, low, high in rows[
                            ["difference", "difference_low", "difference_high"]
                        ].itertuples(index=False)
                    ],
                    "interval": rows["interval"],
                    "b / c": rows["b"].astype(str) + " / " + rows["c"].astype(str),
                    "test": rows["test"],
                    "p": rows["p_value"].map(p_text),
                    "p_holm": rows["p_holm"].map(p_text),
                    "verdict": rows["verdict"],
                }
            ),
        ),
    }  # fmt: skip


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


def experiments_summary(frame: pd.DataFrame, baseline: str, alpha: float) -> str:
    """The verdicts against the baseline in one sentence."""
    others = frame[frame["model"] != baseline]
    groups = {
        verdict: ", ".join(others.loc[others["verdict"] == verdict, "model"])
        for verdict in ("better", "worse", "not distinguishable")
    }
    listed = "; ".join(f"{verdict}: {models}" for verdict, models in groups.items() if models)
    return (
        f"Against the baseline, {baseline}, at α = {alpha:g} after Holm's correction over "
        f"every comparison of comparisons.csv: {listed}."
    )


def experiments_section(inputs: ReportInputs) -> dict[str, object]:
    """The models beyond the study's three, and the comparison of every model."""
    frame = pd.read_csv(inputs.experiments, keep_default_na=False, na_values="")
    settings = list(frame.columns[2 : frame.columns.get_loc("params")])
    shown = (
        frame[["model", "architecture", *settings]]
        .fillna("")
        .astype(str)
        .assign(
            params=frame["params"].map("{:,}".format),
            seeds=frame["seeds"],
            test_acc=[
                f"{Measure(mean, std, n).as_pct()} ({100 * low:.2f}–{100 * high:.2f})"
                for mean, std, n, low, high in frame[
                    ["test_acc_mean", "test_acc_std", "seeds", "test_acc_low", "test_acc_high"]
                ].itertuples(index=False)
            ],
            best_val=frame["best_val_acc"].map(pct),
            gap=(100 * frame["final_gap"]).map("{:.2f}".format),
            seconds=frame["train_seconds"].map("{:.1f}".format),
            vs_baseline=(100 * frame["vs_baseline"]).map("{:+.2f}".format),
            p_holm=frame["p_holm"].map(lambda p: "" if pd.isna(p) else p_text(p)),
            verdict=frame["verdict"],
        )
    )
    columns = [
        "model", "architecture", *settings, "parameters", "seeds", "test accuracy (95% CI)",
        "best validation", "last gap (points)", "training s", "vs baseline (points)",
        "p (Holm)", "verdict",
    ]  # fmt: skip
    return {
        "extra": [model for model in frame["model"] if model not in STUDY_MODELS],
        "baseline": inputs.baseline,
        "summary": experiments_summary(frame, inputs.baseline, inputs.alpha),
        "table": table(columns, shown),
        "figure": figure(inputs.experiments_plot, "Validation accuracy of every model"),
    }


def report_context(study: Study) -> dict[str, object]:
    """Everything the templates show: numbers as text, sentences, tables and figures."""
    return {
        "seeds_note": study.seeds_note(),
        "filters": filters_section(study),
        "cnn": cnn_section(study),
        "regularized": regularized_section(study),
        "mlp_vs_cnn": mlp_vs_cnn_section(study),
        "accuracy_table": accuracy_table(study),
        "comparisons": comparisons_section(study),
        "experiments": experiments_section(study.inputs),
        "cost_table": table(
            ["job", "seconds", "peak memory (MB)"],
            cost_table(study.inputs.benchmarks, study.results),
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
