"""Plots and the report, from small synthetic results: every sentence says what the data shows."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SMOKE, copy_workflow
from figure_checks import drawn_figures, illegible_text, overlapping_texts
from helpers import MODELS
from page_checks import words_of_html, words_of_markdown
from PIL import Image

from fashion_mnist_study.analysis import comparisons, examples, per_class
from fashion_mnist_study.analysis import results as summary
from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.cache.keys import planned_workflow
from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.checksums import seal_of, sha256_of
from fashion_mnist_study.core.config import model_sections
from fashion_mnist_study.outputs import plots
from fashion_mnist_study.outputs.experiments import (
    accuracy_by_setting,
    experiments_table,
    ranking,
)
from fashion_mnist_study.outputs.report.document import write_report
from fashion_mnist_study.outputs.report.inputs import ReportInputs
from fashion_mnist_study.study.filters import apply_filters_to_test_images, error_table
from fashion_mnist_study.study.models import PARAM_COLUMNS, build_network, parameter_rows
from fashion_mnist_study.study.predictions import save_predictions, stack_predictions

STUDY_SECTIONS = model_sections(yaml.safe_load((REPO / "config/config.yaml").read_text()))
METRIC_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
STYLE = {"dpi": 30, "panel_width": 3.0, "panel_height": 2.0}
KERNELS = [
    {"name": "diagonal", "weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]},
    {"name": "vertical", "weights": [[0, 1, 0], [0, 1, 0], [0, 1, 0]]},
]
FILTERS = {"examples": [3, 0], "dtype": "float32", "pool": 2, "kernels": KERNELS}
SECTIONS = (
    "1.1 Shallow convolution in NumPy",
    "1.2 The same in PyTorch",
    "2.1 CNN with max pooling",
    "2.2 CNN with dropout and weight decay",
    "3 MLP vs CNN",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The study's figure settings (dpi, panel sizes), at which the report shows its figures.
STUDY_STYLE = yaml.safe_load((REPO / "config/config.yaml").read_text())["plots"]


# Of each class's test images, how many a model gets right; a run's test accuracy (its JSON's)
# is their sum over the 10,000 images, class 0 taking up any difference (two seeds differ).
# The CNN leads the MLP most on Shirt (30 points) and least on Ankle boot, where the MLP is
# ahead by 4 points.
IMAGES_PER_CLASS = 1000
RIGHT_PER_CLASS = {
    "cnn": [900, 950, 880, 920, 870, 960, 800, 950, 973, 920],
    "cnn_regularized": [910, 960, 890, 925, 880, 965, 810, 955, 977, 915],
    "mlp": [800, 960, 800, 850, 790, 900, 500, 900, 961, 960],
}
# Where each model's run of right images starts in its class (modulo the class size), so that
# two models get different images right and both b and c are counted.
OFFSETS = {"cnn": 0, "cnn_regularized": 20, "mlp": 50}


@dataclasses.dataclass
class Synthetic:
    """Per model, one value per seed: test accuracy, last-epoch validation accuracy and gap;
    per model and class, the test images predicted right (the same in every seed)."""

    test_acc: dict[str, list[float]]
    final_val: dict[str, list[float]]
    final_gap: dict[str, list[float]]
    right_per_class: dict[str, list[int]] = dataclasses.field(
        default_factory=lambda: RIGHT_PER_CLASS
    )
    paths: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return list(range(len(self.test_acc["cnn"])))


ONE_SEED = Synthetic(
    test_acc={"cnn": [0.9123], "cnn_regularized": [0.9187], "mlp": [0.8421]},
    final_val={"cnn": [0.9050], "cnn_regularized": [0.9140], "mlp": [0.8350]},
    final_gap={"cnn": [0.0612], "cnn_regularized": [0.0134], "mlp": [0.0400]},
)
TWO_SEEDS = Synthetic(
    test_acc={
        "cnn": [0.9110, 0.9130],  # 91.20% ± 0.14
        "cnn_regularized": [0.9190, 0.9210],  # 92.00% ± 0.14: 0.80 points above the CNN
        "mlp": [0.8400, 0.8440],  # 84.20% ± 0.28
    },
    final_val={"cnn": [0.9040, 0.9060], "cnn_regularized": [0.9100, 0.9120], "mlp": [0.83, 0.84]},
    final_gap={
        "cnn": [0.0600, 0.0640],  # 6.20 points ± 0.28
        "cnn_regularized": [0.0100, 0.0700],  # 4.00 points ± 4.24: 2.20 below, within spread
        "mlp": [0.0300, 0.0400],
    },
)


def metrics_rows(final_val: float, final_gap: float) -> list[dict]:
    """Four epochs; validation peaks in epoch 3 (best = final + 0.004), gap grows to final_gap."""
    val = [final_val - 0.05, final_val - 0.02, final_val + 0.004, final_val]
    gap = [final_gap * f for f in (0.25, 0.5, 0.75, 1.0)]
    return [
        {
            "epoch": epoch,
            "train_loss": 0.6 / epoch,
            "train_acc": round(v + g, 6),
            "val_loss": 0.7 / epoch,
            "val_acc": round(v, 6),
            "seconds": 1.5,
        }
        for epoch, (v, g) in enumerate(zip(val, gap, strict=True), start=1)
    ]


def synthetic_predictions(
    right: list[int], test_acc: float, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """IMAGES_PER_CLASS test images per class, in class order; of class c, right[c] images in
    a row from `offset` (wrapping around) are predicted right, the others as the next class;
    class 0 gets as many more or fewer right as make the accuracy `test_acc`."""
    right = list(right)
    right[0] += round(test_acc * 10 * IMAGES_PER_CLASS) - sum(right)
    assert 0 <= right[0] <= IMAGES_PER_CLASS, "test_acc too far from right_per_class"
    labels = np.repeat(np.arange(10), IMAGES_PER_CLASS).astype(np.uint8)
    position = (np.tile(np.arange(IMAGES_PER_CLASS), 10) - offset) % IMAGES_PER_CLASS
    predicted = np.where(position < np.asarray(right)[labels], labels, (labels + 1) % 10)
    return predicted.astype(np.uint8), labels


BENCHMARK_HEADER = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
)


def write_results(root: Path, data: Synthetic) -> Synthetic:
    """Write the workflow's tables and per-run files for `data` under `root`; a copy with paths."""
    totals = {}
    params = []
    for model in MODELS:
        network = build_network("mlp", (2176, 128, 128)) if model == "mlp" else build_network("cnn")
        rows = parameter_rows(model, network)
        params += rows
        totals[model] = rows[-1]["params"]
    write_table(root / "tables/params.csv", pd.DataFrame(params, columns=PARAM_COLUMNS))

    metrics, results, predictions = {}, {}, {}
    for model in MODELS:
        for seed in data.seeds:
            csv_path = root / f"metrics/{model}/seed{seed}.csv"
            rows = metrics_rows(data.final_val[model][seed], data.final_gap[model][seed])
            write_table(csv_path, pd.DataFrame(rows, columns=METRIC_COLUMNS))
            result = {
                "model": model,
                "seed": seed,
                "test_loss": 0.3,
                "test_acc": data.test_acc[model][seed],
                "n_test": 10000,
                "params": totals[model],
                "epochs": 4,
                "device": "cpu",
                "seconds": 6.0,
                "seconds_before_first_step": {"start": 1.5, "device": 0.0, "data": 0.5},
                "peak_rss_mb": 812.4,
                "sha256": {"metrics": sha256_of(csv_path)},
            }
            json_path = csv_path.with_suffix(".json")
            json_path.write_text(json.dumps({**result, "seal": seal_of(result)}))
            prediction_path = root / f"predictions/{model}/seed{seed}.npz"
            save_predictions(
                prediction_path,
                *synthetic_predictions(
                    data.right_per_class[model], data.test_acc[model][seed], OFFSETS[model]
                ),
            )
            metrics.setdefault(model, []).append(str(csv_path))
            results.setdefault(model, []).append(str(json_path))
            predictions.setdefault(model, []).append(str(prediction_path))
    all_results = [path for model in MODELS for path in results[model]]
    write_table(
        root / "tables/test_accuracy.csv",
        comparisons.accuracy_summary(summary.read_results(all_results)),
    )
    write_table(root / "tables/per_class_accuracy.csv", per_class.per_class_accuracy(predictions))
    right, labels = comparisons.right_answers(predictions)
    compared = comparisons.comparisons_table(right, comparisons.compared_pairs(MODELS, "cnn"), 0.05)
    write_table(root / "tables/comparisons.csv", compared)
    classes = comparisons.class_comparisons_table(
        right, labels, list(per_class.CLASS_NAMES), alpha=0.05
    )
    write_table(root / "tables/class_comparisons.csv", classes)

    x_test = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    numpy_out = apply_filters_to_test_images(x_test, FILTERS, "numpy")
    torch_out = apply_filters_to_test_images(x_test, FILTERS, "torch")
    torch_out["conv"] = torch_out["conv"].copy()
    torch_out["conv"][1, 0, 5, 5] += 3.0  # a hand-made worst case: distance 5 in
    torch_out["conv"][1, 0, 9, 2] -= 4.0  # example 1, filter "diagonal"
    write_table(root / "tables/filter_errors.csv", error_table(numpy_out, torch_out))

    benchmarks = {}
    for job, (seconds, rss) in {
        "plot_confusion model=cnn": ("12.34", "1024.4"),
        "plot_curves model=cnn": ("2.01", "-"),  # too short for Snakemake to sample memory
    }.items():
        path = root / "benchmarks" / f"{job.replace(' ', '_')}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{BENCHMARK_HEADER}\n{seconds}\t0:00:12\t{rss}\t1\t1\t1\t0\t0\t0\t1\n")
        benchmarks[job] = str(path)

    study = {model: {**STUDY_SECTIONS[model], "epochs": 4} for model in MODELS}
    experiments = experiments_table(study, results, metrics, baseline="cnn", comparisons=compared)
    write_table(root / "tables/experiments.csv", experiments)

    paths = {
        "root": root,
        "metrics": metrics,
        "results": results,
        "predictions": predictions,
        "benchmarks": benchmarks,
        "numpy_out": numpy_out,
        "torch_out": torch_out,
    }
    return dataclasses.replace(data, paths=paths)


def make_figures(data: Synthetic, root: Path | None = None) -> dict[str, Path]:
    """Every figure of the report, in `root` (the data's plots/ folder by default)."""
    root = root or data.paths["root"] / "plots"
    curves = {model: read_curves(data.paths["metrics"][model]) for model in MODELS}
    figures = {"filters": root / "filters.png"}
    plots.plot_filters(data.paths["numpy_out"], data.paths["torch_out"], figures["filters"], STYLE)
    for model in MODELS:
        figures[model] = root / f"{model}_curves.png"
        plots.plot_curves(model, curves[model], figures[model], STYLE)
    figures["overfitting"] = root / "overfitting.png"
    plots.plot_overfitting(
        {m: curves[m] for m in ("cnn", "cnn_regularized")}, figures["overfitting"], STYLE
    )
    figures["mlp_vs_cnn"] = root / "mlp_vs_cnn.png"
    plots.plot_validation_accuracy(
        {m: curves[m] for m in ("mlp", "cnn")}, figures["mlp_vs_cnn"], STYLE, "MLP vs CNN"
    )
    stacked = {m: stack_predictions(data.paths["predictions"][m]) for m in MODELS}
    for model in MODELS:
        figures[f"confusion_{model}"] = root / f"confusion_{model}.png"
        matrix = per_class.confusion_matrix(*stacked[model])
        names = list(per_class.CLASS_NAMES)
        plots.plot_confusion(model, matrix, names, figures[f"confusion_{model}"], STYLE)
    figures["examples"] = root / "cnn_vs_mlp_examples.png"
    images = np.random.default_rng(1).integers(0, 256, (10 * IMAGES_PER_CLASS, 28, 28), np.uint8)
    groups = examples.disagreement_groups(
        images, {"CNN": stacked["cnn"][0], "MLP": stacked["mlp"][0]}, stacked["cnn"][1]
    )
    plots.plot_image_groups(groups, figures["examples"], STYLE)
    figures["experiments"] = root / "experiments.png"
    accuracy = pd.read_csv(data.paths["root"] / "tables/test_accuracy.csv")
    plots.plot_experiments(curves, figures["experiments"], STYLE, ranking(accuracy), "cnn")
    figures["experiments_settings"] = root / "experiments_settings.png"
    table, settings = accuracy_by_setting({m: STUDY_SECTIONS[m] for m in MODELS}, accuracy)
    plots.plot_setting_slices(table, settings, figures["experiments_settings"], STYLE)
    figures["comparisons"] = root / "comparisons.png"
    compared = pd.read_csv(data.paths["root"] / "tables/comparisons.csv")
    plots.plot_comparisons(compared, figures["comparisons"], STYLE, alpha=0.05)
    return figures


def build_report(
    data: Synthetic,
    figures: dict[str, Path],
    kernel_names: list[str] | None = None,
    models: tuple[str, ...] = MODELS,
) -> tuple[str, str]:
    """Write the report for `data` with `figures` (curves and confusion matrices of `models`,
    named as make_figures names them); return (markdown, html)."""
    root = data.paths["root"]
    inputs = ReportInputs(
        filter_errors=str(root / "tables/filter_errors.csv"),
        filters_plot=str(figures["filters"]),
        params=str(root / "tables/params.csv"),
        test_accuracy=str(root / "tables/test_accuracy.csv"),
        metrics=data.paths["metrics"],
        results=data.paths["results"],
        curves={model: str(figures[model]) for model in models},
        confusion={model: str(figures[f"confusion_{model}"]) for model in models},
        overfitting=str(figures["overfitting"]),
        mlp_vs_cnn=str(figures["mlp_vs_cnn"]),
        experiments=str(root / "tables/experiments.csv"),
        experiments_plot=str(figures["experiments"]),
        experiments_settings_plot=str(figures["experiments_settings"]),
        comparisons=str(root / "tables/comparisons.csv"),
        class_comparisons=str(root / "tables/class_comparisons.csv"),
        comparisons_plot=str(figures["comparisons"]),
        baseline="cnn",
        alpha=0.05,
        cnn_vs_mlp_examples=str(figures["examples"]),
        benchmarks=data.paths["benchmarks"],
        kernel_names=kernel_names or [kernel["name"] for kernel in KERNELS],
        filter_dtype="float32",
        pool=2,
    )
    html_path, md_path = root / "report/report.html", root / "report/report.md"
    write_report(inputs, str(html_path), str(md_path))
    return md_path.read_text(), html_path.read_text()


@dataclasses.dataclass
class Built:
    data: Synthetic
    figures: dict[str, Path]
    markdown: str
    html: str

    @property
    def text(self) -> str:
        """The HTML's visible text, entities decoded and tags dropped."""
        return html.unescape(re.sub(r"<[^>]+>", " ", self.html))


def build(tmp_path_factory, name: str, data: Synthetic) -> Built:
    written = write_results(tmp_path_factory.mktemp(name), data)
    figures = make_figures(written)
    return Built(written, figures, *build_report(written, figures))


@pytest.fixture(scope="module")
def one_seed(tmp_path_factory) -> Built:
    return build(tmp_path_factory, "one_seed", ONE_SEED)


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory) -> Built:
    return build(tmp_path_factory, "two_seeds", TWO_SEEDS)


def rebuilt(tmp_path: Path, figures: dict[str, Path], **changes) -> Built:
    """A one-seed report with some of ONE_SEED's numbers changed, reusing existing figures."""
    data = Synthetic(
        test_acc=changes.get("test_acc", ONE_SEED.test_acc),
        final_val=changes.get("final_val", ONE_SEED.final_val),
        final_gap=changes.get("final_gap", ONE_SEED.final_gap),
        right_per_class=changes.get("right_per_class", RIGHT_PER_CLASS),
    )
    written = write_results(tmp_path, data)
    return Built(written, figures, *build_report(written, figures))


# --- figures --------------------------------------------------------------------------------


def test_every_figure_text_is_legible_in_the_report(
    one_seed: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every figure drawn at the study's settings (config/config.yaml's plots), as the HTML
    report shows it."""
    monkeypatch.setattr(sys.modules[__name__], "STYLE", STUDY_STYLE)
    with drawn_figures() as saved:
        figures = make_figures(one_seed.data, tmp_path)
    assert len(saved) == len(figures)
    illegible = {Path(path).name: illegible_text(fig, Path(path), dpi) for fig, path, dpi in saved}
    assert {name: texts for name, texts in illegible.items() if texts} == {}
    overlaps = {Path(path).name: overlapping_texts(fig) for fig, path, _ in saved}
    assert {name: pairs for name, pairs in overlaps.items() if pairs} == {}


@pytest.mark.parametrize("study", ["one_seed", "two_seeds"])
def test_plots_write_valid_png_files(study: str, request) -> None:
    figures = request.getfixturevalue(study).figures
    confusion = {f"confusion_{model}" for model in MODELS}
    expected = {"filters", *MODELS, "overfitting", "mlp_vs_cnn", *confusion, "examples"}
    assert set(figures) == {*expected, "experiments", "experiments_settings", "comparisons"}
    for path in figures.values():
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width > 50 and image.height > 50
            image.verify()
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("study", ["one_seed", "two_seeds"])
def test_report_has_every_section(study: str, request) -> None:
    built = request.getfixturevalue(study)
    for heading in SECTIONS:
        assert re.search(rf"^## {re.escape(heading)}", built.markdown, re.MULTILINE), heading
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}", built.html), heading


@pytest.mark.parametrize("study", ["one_seed", "two_seeds"])
def test_html_is_self_contained(study: str, request) -> None:
    built = request.getfixturevalue(study)
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", built.html)
    # the findings' mlp_vs_cnn, filters, three curves, overfitting, mlp_vs_cnn, two confusion
    # matrices, the examples, the comparisons
    assert len(sources) == 11
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert 'src="http' not in built.html
    targets = re.findall(r'\bhref="([^"]*)"', built.html)  # only to its own sections
    assert len(targets) == 9
    assert {target.removeprefix("#") for target in targets} <= set(
        re.findall(r'id="([^"]+)"', built.html)
    )
    assert "<link" not in built.html and "<script" not in built.html
    assert "url(" not in built.html


def test_html_embeds_the_figures_themselves(one_seed: Built) -> None:
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', one_seed.html)
    assert base64.b64decode(embedded[0]) == one_seed.figures["mlp_vs_cnn"].read_bytes()  # findings
    assert base64.b64decode(embedded[1]) == one_seed.figures["filters"].read_bytes()
    # section 3 compares two models; with only the study's, no experiments figure
    shown = set(one_seed.figures) - {
        "confusion_cnn_regularized",
        "experiments",
        "experiments_settings",
    }
    expected = {one_seed.figures[name].read_bytes() for name in shown}
    assert {base64.b64decode(data) for data in embedded} == expected


def test_markdown_links_the_figures_relative_to_the_report(one_seed: Built) -> None:
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", one_seed.markdown)
    assert len(links) == 11
    assert all(not Path(link).is_absolute() for link in links)
    assert "../plots/filters.png" in links


# --- numbers -------------------------------------------------------------------------------


STUDY_VALUES = ("91.59%", "91.91%", "80.54%", "91.48%", "2,003,754", "2,005,610")


@pytest.mark.parametrize("study", ["one_seed", "two_seeds"])
def test_report_shows_the_study_values_beside_this_runs(study: str, request) -> None:
    built = request.getfixturevalue(study)
    for value in STUDY_VALUES:
        assert value in built.markdown, value
        assert value in built.text, value


def test_one_seed_test_accuracies_appear_as_in_the_json_files(one_seed: Built) -> None:
    for text in (one_seed.markdown, one_seed.text):
        assert "regularized CNN: 91.87% (95% CI 91.32 to 92.39%) [study: 91.91%]" in text
        assert "plain CNN: 91.23% (95% CI 90.66 to 91.77%) [study: 91.59%]" in text
        assert (
            "Test accuracy: MLP 84.21% (95% CI 83.48 to 84.91%) [study: 80.54%], "
            "CNN 91.23% (95% CI 90.66 to 91.77%) [study: 91.48%]"
        ) in text
        assert "test accuracy on 10,000 images: 91.23% (95% CI 90.66 to 91.77%)" in text


def test_two_seed_test_accuracies_are_mean_and_spread_with_both_intervals(
    two_seeds: Built,
) -> None:
    for text in (two_seeds.markdown, two_seeds.text):
        assert (
            "Test accuracy of the regularized CNN: 92.00% ± 0.14 (95% CI 91.45 to 92.52% over "
            "the test images, 90.73 to 93.27% over seeds) [study: 91.91%]"
        ) in text
        assert "MLP 84.20% ± 0.28 (95% CI 83.47 to 84.90% over the test images" in text
        assert "2 seeds per model; numbers are mean ± sample standard deviation" in text


def test_test_accuracy_table_lists_every_model(two_seeds: Built) -> None:
    table = two_seeds.markdown.split("## Test accuracy of every model")[1]
    for row in (
        "| cnn | 2 (0, 1) | 91.20% ± 0.14 (95% CI 90.63 to 91.74% over the test images, "
        "89.93 to 92.47% over seeds) | 2,003,754 | 4 |",
        "| cnn_regularized | 2 (0, 1) | 92.00% ± 0.14 (95% CI 91.45 to 92.52% over the test "
        "images, 90.73 to 93.27% over seeds) | 2,003,754 | 4 |",
        "| mlp | 2 (0, 1) | 84.20% ± 0.28 (95% CI 83.47 to 84.90% over the test images, "
        "81.66 to 86.74% over seeds) | 2,004,618 | 4 |",
    ):
        assert row in table


def test_test_accuracy_table_says_how_many_seeds_and_which(one_seed: Built) -> None:
    for page in (one_seed.markdown, one_seed.html):
        table = page.split("Test accuracy of every model")[-1]
        assert re.search(r"\| cnn \| 1 \(0\) \||<td>cnn</td>\s*<td>1 \(0\)</td>", table)


def test_cnn_curves_sentence_matches_the_last_and_best_epoch(one_seed: Built) -> None:
    # final validation 90.50%, gap 6.12 points -> training 96.62%; best validation 90.90%
    assert (
        "After 4 epochs the CNN reaches 96.62% training and 90.50% validation accuracy "
        "(best validation 90.90%)"
    ) in one_seed.markdown


def test_parameter_numbers_come_from_the_table(one_seed: Built) -> None:
    assert "Parameters per layer; total 2,003,754 [study: 2,003,754]." in one_seed.markdown
    assert "| fc1 | Linear | 64x30976 | 1,982,528 |" in one_seed.markdown
    assert "MLP 2,004,618 [study: 2,005,610], CNN 2,003,754" in one_seed.markdown
    assert "the MLP has 0.04% more parameters than the CNN" in one_seed.markdown


def test_filter_sections_describe_the_filter_errors(one_seed: Built) -> None:
    md = one_seed.markdown
    assert "2 test images, 2 filters (diagonal, vertical), computed in float32" in md
    assert (
        "Convolution only: the largest Euclidean distance between NumPy and PyTorch is 5 "
        "(test image 0, filter diagonal), the largest absolute difference of one pixel 4"
    ) in md
    # the pooled outputs were left as computed: both implementations agree to float32 rounding
    pooled = re.search(r"Convolution \+ pooling: .* is (\S+) \(test image", md)
    assert pooled is not None and float(pooled.group(1)) < 1e-4


# --- sentences that judge a difference --------------------------------------------------------


def test_one_seed_comparisons_state_mcnemars_evidence(one_seed: Built) -> None:
    # Per class, the regularized CNN's run of right images starts 20 images later than the
    # CNN's: 20 images per class right only for the CNN (b below is the regularized CNN's).
    for text in (one_seed.markdown, one_seed.text):
        assert (
            "The regularized CNN is ahead of the plain CNN by 0.64 points (95% CI 0.22 to "
            "1.06, Newcombe paired score interval); McNemar's exact test on the 10,000 test "
            "images (264 right only for the regularized CNN, 200 only for the plain CNN): "
            "p = 0.0034 (0.0034 after Holm's correction over the 2 comparisons of "
            "comparisons.csv): a difference this test set can distinguish from chance at "
            "α = 0.05."
        ) in text
        assert (
            "The CNN is ahead of the MLP by 7.02 points (95% CI 6.41 to 7.63, Newcombe paired "
            "score interval); McNemar's exact test on the 10,000 test images (859 right only "
            "for the CNN, 157 only for the MLP): p = 1.1e-117 (2.1e-117 after Holm's "
            "correction over the 2 comparisons of comparisons.csv)"
        ) in text
    assert "one seed per model" in one_seed.markdown
    assert "seed noise" not in one_seed.markdown


def test_a_difference_the_test_set_cannot_tell_from_chance_is_called_so(
    one_seed: Built, tmp_path: Path
) -> None:
    built = rebuilt(
        tmp_path,
        one_seed.figures,
        test_acc={"cnn": [0.9123], "cnn_regularized": [0.9130], "mlp": [0.8421]},
    )
    assert (
        "The regularized CNN is ahead of the plain CNN by 0.07 points (95% CI "
    ) in built.markdown
    assert "a difference this test set cannot distinguish from chance at α = 0.05" in built.markdown
    assert "| cnn_regularized vs cnn | +0.07 (" in built.markdown
    assert "| not distinguishable |" in built.markdown


def test_smaller_regularized_gap_is_described_as_lower(one_seed: Built) -> None:
    assert (
        "Gap between training and validation accuracy in the last epoch: 6.12 points without "
        "regularization, 1.34 points with it. The regularized gap is 4.78 points lower than "
        "the plain one"
    ) in one_seed.markdown


def test_larger_regularized_gap_is_described_as_higher(one_seed: Built, tmp_path: Path) -> None:
    built = rebuilt(
        tmp_path,
        one_seed.figures,
        final_gap={"cnn": [0.0134], "cnn_regularized": [0.0612], "mlp": [0.04]},
    )
    assert (
        "in the last epoch: 1.34 points without regularization, 6.12 points with it. "
        "The regularized gap is 4.78 points higher than the plain one"
    ) in built.markdown


def test_lower_regularized_test_accuracy_is_described_as_lower(
    one_seed: Built, tmp_path: Path
) -> None:
    right = {
        "cnn": RIGHT_PER_CLASS["cnn_regularized"],
        "cnn_regularized": RIGHT_PER_CLASS["cnn"],
        "mlp": [930] * 10,
    }
    built = rebuilt(
        tmp_path,
        one_seed.figures,
        right_per_class=right,
        test_acc={"cnn": [0.9187], "cnn_regularized": [0.9123], "mlp": [0.9300]},
    )
    assert "The plain CNN is ahead of the regularized CNN by 0.64 points (95% CI" in built.markdown
    assert "The MLP is ahead of the CNN by 1.13 points (95% CI" in built.markdown
    assert "| cnn_regularized vs cnn | -0.64 (" in built.markdown


def test_two_seeds_compare_the_training_procedures_with_welch(two_seeds: Built) -> None:
    md = two_seeds.markdown
    assert (
        "The regularized CNN is ahead of the plain CNN by 0.80 points (95% CI 0.19 to 1.41, "
        "Welch t interval); Welch's t-test over the seeds' accuracies (2 and 2 seeds): p = 0.03 "
        "(0.03 after Holm's correction over the 2 comparisons of comparisons.csv): a difference "
        "between the training procedures that can be told from seed noise at α = 0.05. "
        "McNemar's exact test per seed pair: p = 3.0e-04, 3.0e-04."
    ) in md
    assert "The CNN is ahead of the MLP by 7.00 points (95% CI 5.62 to 8.38, Welch t" in md
    assert "| cnn_regularized vs cnn | +0.80 (+0.19 to +1.41) | Welch t | 280 280 / 200 200 |" in md
    # the gap over the epochs is no test-set comparison: judged against the seeds' spread
    assert "6.20 points ± 0.28 without regularization, 4.00 points ± 4.24 with it." in md
    assert (
        "The regularized gap is 2.20 points lower than the plain one; the difference is "
        "not larger than the spread between seeds (4.24 points"
    ) in md


# --- per class and cost (beyond the study) ------------------------------------------------


def test_class_sentence_names_the_largest_and_the_smallest_lead(one_seed: Built) -> None:
    for text in (one_seed.markdown, one_seed.text):
        assert (
            "Class by class, the CNN's lead over the MLP is largest on Shirt (80.00% against "
            "50.00%): the CNN is ahead of the MLP by 30.00 points (95% CI 27.12 to 32.81, "
            "Newcombe paired score interval); McNemar's exact test on the 1,000 test images of "
            "the class (300 right only for the CNN, 0 only for the MLP): p = 9.8e-91 (9.8e-90 "
            "after Holm's correction over the 10 classes): a difference this test set can "
            "distinguish from chance at α = 0.05; it is smallest on Ankle boot (92.00% against "
            "96.00%): the MLP is ahead of the CNN by 4.00 points (95% CI 1.87 to 6.18"
        ) in text
        # Ankle boot: CNN right on images 0-919, MLP on 50-969 of the class
        assert "(40 right only for the CNN, 80 only for the MLP): p = 3.3e-04 (9.9e-04" in text


def test_class_sentence_when_the_cnn_leads_everywhere(one_seed: Built, tmp_path: Path) -> None:
    right = {
        **RIGHT_PER_CLASS,
        "cnn": [1000] * 10,
        "mlp": [900, 900, 900, 900, 900, 900, 500, 800, 900, 900],
    }
    built = rebuilt(
        tmp_path,
        one_seed.figures,
        right_per_class=right,
        test_acc={"cnn": [1.0], "cnn_regularized": [0.9187], "mlp": [0.85]},
    )
    assert (
        "it is smallest on T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Bag and Ankle "
        "boot (the CNN ahead by 10.00 points each; 8 of 8 distinguishable from chance at "
        "α = 0.05 after Holm's correction over the 10 classes)."
    ) in built.markdown
    assert "largest on Shirt (100.00% against 50.00%): the CNN is ahead" in built.markdown


def test_per_class_table_lists_every_class_with_both_models(one_seed: Built) -> None:
    heading = "| class | CNN (95% CI) | MLP (95% CI) | CNN - MLP (points, 95% CI) | p (Holm) |"
    table = one_seed.markdown.split(heading)[1]
    rows = [line for line in table.splitlines()[2:] if line.startswith("| ")][:10]
    assert rows[0] == (
        "| T-shirt/top | 90.00% (87.98 to 91.71) | 80.00% (77.41 to 82.36) | 10.00 (8.17 to 11.94) "
        "| 1.4e-29 | cnn ahead |"
    )
    assert rows[9].startswith(
        "| Ankle boot | 92.00% (90.15 to 93.53) | 96.00% (94.60 to 97.05) | -4.00"
    )
    assert rows[9].endswith("| mlp ahead |")
    assert [row.split(" | ")[0][2:] for row in rows] == list(per_class.CLASS_NAMES)


def test_cost_table_shows_each_benchmarked_job(one_seed: Built) -> None:
    assert "| plot_confusion model=cnn | 12.3 | 1,024 |" in one_seed.markdown
    assert "| train model=mlp seed=0 | 8.0 | 812 |" in one_seed.markdown  # 6 + 1.5 + 0.5 s
    assert "| plot_curves model=cnn | 2.0 | n/a |" in one_seed.markdown


@pytest.mark.parametrize("report", ["one_seed", "two_seeds"])
def test_both_reports_say_the_same_words_in_the_same_order(report: str, request) -> None:
    built = request.getfixturevalue(report)
    assert words_of_html(built.html) == words_of_markdown(built.markdown)
    assert len(words_of_html(built.html)) > 1000


def test_html_escapes_what_it_shows(one_seed: Built, tmp_path: Path) -> None:
    written = write_results(tmp_path, ONE_SEED)
    _, page = build_report(written, one_seed.figures, kernel_names=["<b>diag</b>", "vert & co"])
    assert "&lt;b&gt;diag&lt;/b&gt;" in page and "<b>diag" not in page
    assert "vert &amp; co" in page


def test_experiments_section_says_in_one_line_that_there_are_none(one_seed: Built) -> None:
    section = one_seed.markdown.split("## Experiments beyond the study")[1].split("## Cost")[0]
    assert section.strip() == (
        "Only the study's three models were trained; add models or sweeps to "
        "`config/config.yaml` to compare others here."
    )


def test_experiments_section_lists_the_other_models_and_compares_them(
    one_seed: Built, tmp_path: Path
) -> None:
    written = write_results(tmp_path, ONE_SEED)
    path = written.paths["root"] / "tables/experiments.csv"
    table = pd.read_csv(path, keep_default_na=False)
    extra = table[table["model"] == "cnn_regularized"].assign(model="cnn-dropout-0.5")
    extra = extra.assign(test_acc_mean=0.95, vs_baseline=0.95 - 0.9123, p_holm=0.00123)
    write_table(path, pd.concat([table, extra]))
    figures = one_seed.figures
    figures = {
        **figures,
        "cnn-dropout-0.5": figures["cnn_regularized"],
        "confusion_cnn-dropout-0.5": figures["confusion_cnn_regularized"],
    }
    markdown, _ = build_report(written, figures, models=(*MODELS, "cnn-dropout-0.5"))
    section = markdown.split("## Experiments beyond the study")[1].split("## Cost")[0]
    assert "Models trained beyond the study's three: cnn-dropout-0.5." in section
    assert "compared with the baseline, cnn:" in section
    assert (
        "Against the baseline, cnn, at α = 0.05 after Holm's correction over every comparison "
        "of comparisons.csv: better: cnn_regularized, cnn-dropout-0.5; worse: mlp."
    ) in section
    # no hidden sizes for a CNN; the interval is Wilson's over the 10,000 test images
    assert "| cnn | cnn | 0.0 |  | 0.0 | 2,003,754 | 1 | 91.23% (90.66 to 91.77) |" in section
    assert "| cnn-dropout-0.5 | cnn | 0.7 |  | 1e-05 | 2,003,754 | 1 | 95.00% (" in section
    assert "| +3.77 | 0.0012 | better |" in section
    assert "| +0.00 |  | baseline |" in section
    assert "| -7.02 | 2.1e-117 | worse |" in section
    assert "![Validation accuracy of every model](" in section
    folded = section.split("<summary>cnn-dropout-0.5: 95.00% (")[1].split("</details>")[0]
    assert "![cnn-dropout-0.5: training and validation per epoch](" in folded
    assert "![cnn-dropout-0.5: confusion matrix](" in folded


def test_comparisons_section_shows_the_forest_plot_and_every_pair(two_seeds: Built) -> None:
    section = two_seeds.markdown.split("## Every comparison, with its evidence")[1]
    section = section.split("## Experiments")[0]
    assert "verdicts are at α = 0.05 after Holm's correction over the 2 comparisons" in section
    assert "![Every comparison, with its 95% interval](" in section
    assert "| cnn vs mlp | +7.00 (+5.62 to +8.38) | Welch t | 867 847 / 157 157 |" in section
    assert "| Welch t over seeds | 0.0047 | 0.0094 | cnn ahead |" in section


def test_the_report_job_reads_every_input_by_the_name_its_rule_derives_from_report_inputs(
    tmp_path: Path,
) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    with planned_workflow(workdir, [workdir / SMOKE[1]]) as workflow:
        (job,) = [job for job in workflow.dag.jobs if job.rule.name == "report"]
        inputs = ReportInputs.from_job(job.input, job.params)
    assert inputs.metrics == {model: [f"results/metrics/{model}/seed0.csv"] for model in MODELS}
    assert inputs.results["mlp"] == ["results/metrics/mlp/seed0.json"]
    assert inputs.curves == {model: f"results/plots/{model}_curves.png" for model in MODELS}
    assert inputs.confusion["cnn"] == "results/plots/confusion_cnn.png"
    assert (inputs.comparisons, inputs.class_comparisons) == (
        "results/tables/comparisons.csv",
        "results/tables/class_comparisons.csv",
    )
    assert inputs.filters_plot == "results/plots/filters.png"
    assert inputs.benchmarks["plot_curves model=cnn"] == "benchmarks/plot_curves/cnn.tsv"
    jobs = {label.split()[0] for label in inputs.benchmarks}
    assert {"apply_filters", "experiments_table", "plot_experiments"} <= jobs
    assert not jobs & {"report", "train", "download_fashion_mnist"}  # cached: no benchmark
    assert inputs.kernel_names == ["diagonal", "vertical", "anti_diagonal"]
    assert (inputs.baseline, inputs.alpha, inputs.pool) == ("cnn", 0.05, 2)
