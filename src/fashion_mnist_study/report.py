"""Assemble the study's report (Markdown and self-contained HTML) from this run's outputs.

Every sentence of analysis is computed from the data it describes, so the text cannot
contradict the numbers; beside every number stands the study's own value.
"""

from __future__ import annotations

import base64
import html
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from fashion_mnist_study.atomic import write_text
from fashion_mnist_study.summary import STUDY, Curves, load_curves, load_results, read_table

Block = tuple  # ("h", level, text) | ("p", text) | ("table", columns, rows) | ("img", path, alt)


@dataclass(frozen=True)
class ReportInputs:
    filter_errors: str
    filters_plot: str
    params: str
    test_accuracy: str
    metrics: list[str]  # results/metrics/{model}/seed{seed}.csv
    results: list[str]  # results/metrics/{model}/seed{seed}.json
    curves: list[str]  # results/plots/{model}_curves.png
    overfitting: str
    mlp_vs_cnn: str
    kernel_names: list[str]
    filter_dtype: str
    pool: int


def pct(fraction: float) -> str:
    return f"{100 * fraction:.2f}%"


def relative_size(a: int, b: int) -> str:
    """'0.04% more' / '1.20% fewer': a relative to b."""
    change = 100 * (a / b - 1)
    return f"{abs(change):.2f}% {'more' if change >= 0 else 'fewer'}"


def model_of(path: str) -> str:
    return Path(path).parent.name if path.endswith((".csv", ".json")) else Path(path).stem


@dataclass(frozen=True)
class Measure:
    """A number measured over seeds: mean and sample standard deviation."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def as_pct(self) -> str:
        text = pct(self.mean)
        return text if len(self.values) == 1 else f"{text} ± {100 * self.std:.2f}"

    def as_points(self) -> str:
        text = f"{100 * self.mean:.2f} points"
        return text if len(self.values) == 1 else f"{text} ± {100 * self.std:.2f}"


def versus(a: Measure, b: Measure, name_a: str, name_b: str) -> str:
    """How a differs from b, and whether the difference exceeds the spread between seeds."""
    diff = a.mean - b.mean
    relation = "higher than" if diff > 0 else "lower than" if diff < 0 else "equal to"
    sentence = f"{name_a} is {abs(100 * diff):.2f} points {relation} {name_b}"
    if len(a.values) < 2 or len(b.values) < 2:
        return sentence + " (one seed each: no spread between seeds to judge it against)."
    spread = max(a.std, b.std)
    larger = abs(diff) > spread
    return (
        sentence
        + f"; the difference is {'larger' if larger else 'not larger'} than the spread between "
        f"seeds ({100 * spread:.2f} points, the larger standard deviation of the two)."
    )


class Study:
    """This run's numbers, gathered once from the workflow's outputs."""

    def __init__(self, inputs: ReportInputs) -> None:
        self.inputs = inputs
        self.results: dict[str, list[dict]] = {}
        for result in load_results(inputs.results):
            self.results.setdefault(result["model"], []).append(result)
        paths: dict[str, list[str]] = {}
        for path in inputs.metrics:
            paths.setdefault(model_of(path), []).append(path)
        self.curves: dict[str, Curves] = {m: load_curves(p) for m, p in paths.items()}
        self.params = read_table(inputs.params)
        self.filter_errors = read_table(inputs.filter_errors)

    def test_acc(self, model: str) -> Measure:
        return Measure(tuple(r["test_acc"] for r in self.results[model]))

    def final(self, model: str, key: str) -> Measure:
        return Measure(tuple(getattr(self.curves[model], key)[:, -1]))

    def best_val(self, model: str) -> Measure:
        return Measure(tuple(self.curves[model].val_acc.max(axis=1)))

    def final_gap(self, model: str) -> Measure:
        return Measure(tuple(self.curves[model].gap[:, -1]))

    def epochs(self, model: str) -> int:
        return int(self.curves[model].epochs[-1])

    def total_params(self, model: str) -> int:
        return next(
            int(r["params"]) for r in self.params if r["model"] == model and r["layer"] == "total"
        )

    def seeds_note(self) -> str:
        n = len(next(iter(self.results.values())))
        return (
            "one seed per model"
            if n == 1
            else f"{n} seeds per model; numbers are mean ± sample standard deviation"
        )


def image_for(inputs: ReportInputs, model: str) -> str:
    return next(path for path in inputs.curves if Path(path).name == f"{model}_curves.png")


def build_blocks(study: Study) -> list[Block]:
    inputs = study.inputs
    errors = study.filter_errors
    blocks: list[Block] = [
        ("h", 1, "Fashion-MNIST study: shallow convolution, CNNs and an MLP"),
        (
            "p",
            f"Reproduced by this workflow ({study.seeds_note()}). The study's own values are "
            "given in brackets beside each of this run's numbers.",
        ),
        (
            "h",
            2,
            f"1.1 Shallow convolution in NumPy: 3x3 filters and {inputs.pool}x{inputs.pool} "
            "average pooling",
        ),
        (
            "p",
            f"{len({r['example'] for r in errors})} test images, "
            f"{len(inputs.kernel_names)} filters ({', '.join(inputs.kernel_names)}), "
            f"computed in {inputs.filter_dtype}: valid cross-correlation, then average "
            "pooling. The figure shows each input and every filter's output, NumPy beside "
            "PyTorch.",
        ),
        ("img", inputs.filters_plot, "Inputs, convolution and pooled outputs, NumPy and PyTorch"),
        ("h", 2, "1.2 The same in PyTorch, and the difference between the two"),
    ]
    for output, label in (("conv", "convolution only"), ("conv_pool", "convolution + pooling")):
        rows = [r for r in errors if r["output"] == output]
        worst = max(rows, key=lambda r: float(r["euclidean_distance"]))
        blocks.append(
            (
                "p",
                f"{label.capitalize()}: the largest Euclidean distance between NumPy and "
                f"PyTorch is {float(worst['euclidean_distance']):.3g} (test image "
                f"{worst['example']}, filter {inputs.kernel_names[int(worst['filter'])]}), "
                f"the largest absolute difference of one pixel "
                f"{max(float(r['max_abs_error']) for r in rows):.3g}"
                + (" [study: about 1e-6 in float32]." if inputs.filter_dtype == "float32" else "."),
            )
        )
    blocks.append(
        (
            "table",
            ["output", "example", "filter", "Euclidean distance", "max abs error"],
            [
                [
                    r["output"],
                    r["example"],
                    inputs.kernel_names[int(r["filter"])],
                    f"{float(r['euclidean_distance']):.3g}",
                    f"{float(r['max_abs_error']):.3g}",
                ]
                for r in errors
            ],
        )
    )

    cnn_rows = [r for r in study.params if r["model"] == "cnn"]
    blocks += [
        ("h", 2, "2.1 CNN with max pooling"),
        (
            "p",
            f"Parameters per layer; total {study.total_params('cnn'):,} "
            f"[study: {STUDY['cnn_params']:,}].",
        ),
        (
            "table",
            ["layer", "type", "weight shape", "parameters"],
            [[r["layer"], r["type"], r["shape"], f"{int(r['params']):,}"] for r in cnn_rows],
        ),
        ("img", image_for(inputs, "cnn"), "CNN training and validation curves"),
        (
            "p",
            f"After {study.epochs('cnn')} epochs the CNN reaches "
            f"{study.final('cnn', 'train_acc').as_pct()} training and "
            f"{study.final('cnn', 'val_acc').as_pct()} validation accuracy (best validation "
            f"{study.best_val('cnn').as_pct()}); test accuracy on "
            f"{study.results['cnn'][0]['n_test']:,} images: "
            f"{study.test_acc('cnn').as_pct()} [study: {pct(STUDY['cnn_test_acc'])}].",
        ),
        ("h", 2, "2.2 CNN with dropout and weight decay against overfitting"),
        ("img", image_for(inputs, "cnn_regularized"), "Regularized CNN curves"),
        ("img", inputs.overfitting, "Training minus validation accuracy per epoch"),
        (
            "p",
            f"Test accuracy of the regularized CNN: {study.test_acc('cnn_regularized').as_pct()}"
            f" [study: {pct(STUDY['cnn_regularized_test_acc'])}]; plain CNN: "
            f"{study.test_acc('cnn').as_pct()} [study: {pct(STUDY['cnn_test_acc'])}]. "
            + versus(
                study.test_acc("cnn_regularized"),
                study.test_acc("cnn"),
                "The regularized CNN's test accuracy",
                "the plain CNN's",
            ),
        ),
        (
            "p",
            f"Gap between training and validation accuracy in the last epoch: "
            f"{study.final_gap('cnn').as_points()} without regularization, "
            f"{study.final_gap('cnn_regularized').as_points()} with it. "
            + versus(
                study.final_gap("cnn_regularized"),
                study.final_gap("cnn"),
                "The regularized gap",
                "the plain one",
            ),
        ),
        ("h", 2, "3 MLP vs CNN"),
        (
            "p",
            f"Parameters: MLP {study.total_params('mlp'):,} [study: {STUDY['mlp_params']:,}], "
            f"CNN {study.total_params('cnn'):,} [study: {STUDY['cnn_params']:,}]; the MLP has "
            + relative_size(study.total_params("mlp"), study.total_params("cnn"))
            + " parameters than the CNN.",
        ),
        ("img", inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
        (
            "p",
            f"Test accuracy: MLP {study.test_acc('mlp').as_pct()} "
            f"[study: {pct(STUDY['mlp_test_acc'])}], CNN {study.test_acc('cnn').as_pct()} "
            f"[study: {pct(STUDY['mlp_vs_cnn_cnn_test_acc'])}]. "
            + versus(
                study.test_acc("cnn"), study.test_acc("mlp"), "The CNN's test accuracy", "the MLP's"
            ),
        ),
        ("img", image_for(inputs, "mlp"), "MLP training and validation curves"),
        ("h", 2, "Test accuracy of every model"),
        (
            "table",
            ["model", "seeds", "test accuracy", "parameters", "epochs"],
            [
                [
                    r["model"],
                    r["seeds"],
                    Measure(tuple(res["test_acc"] for res in study.results[r["model"]])).as_pct(),
                    f"{int(r['params']):,}",
                    r["epochs"],
                ]
                for r in read_table(inputs.test_accuracy)
            ],
        ),
    ]
    return blocks


def to_markdown(blocks: list[Block], relative_to: Path) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            lines += ["#" * block[1] + " " + block[2], ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "img":
            lines += [f"![{block[2]}]({os.path.relpath(block[1], relative_to)})", ""]
        elif kind == "table":
            columns, rows = block[1], block[2]
            lines.append("| " + " | ".join(columns) + " |")
            lines.append("|" + "---|" * len(columns))
            lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def to_html(blocks: list[Block]) -> str:
    """One self-contained page: images embedded as data URIs, no external resources."""
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            body.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(block[1])}</p>")
        elif kind == "img":
            data = base64.b64encode(Path(block[1]).read_bytes()).decode()
            alt = html.escape(block[2])
            body.append(
                f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                f"<figcaption>{alt}</figcaption></figure>"
            )
        elif kind == "table":
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in block[1])
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                for row in block[2]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
        "line-height:1.45}img{max-width:100%}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
        "th{background:#f3f3f3}figcaption{font-size:.9em;color:#555}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Fashion-MNIST study</title><style>{style}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(inputs: ReportInputs, html_path: str, markdown_path: str) -> None:
    blocks = build_blocks(Study(inputs))
    write_text(markdown_path, to_markdown(blocks, Path(markdown_path).parent))
    write_text(html_path, to_html(blocks))
