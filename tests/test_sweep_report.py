"""The report of a sweep, as the workflow builds it from synthetic training outputs (files,
not trainings: tools/report_bench.py) of 10 and 51 models: a leaderboard first, a panel per
swept setting, the best few models' curves labelled, per-model figures folded away, at most
twelve figures in the page's flow; the Markdown report saying the same."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import SWEEP_SIZES
from figure_checks import drawn_figures, illegible_text, overlapping_texts
from helpers import MODELS
from page_checks import words_of_html, words_of_markdown

from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.core.paths import STUDY_REPORT
from fashion_mnist_study.core.settings import MANY_MODELS
from fashion_mnist_study.outputs import plots
from fashion_mnist_study.outputs.experiments import accuracy_by_setting, ranking, read_experiments
from fashion_mnist_study.tools.report_bench import (
    bench_config,
    figures_in_flow,
    settings_of,
)

STYLE = {"dpi": 120, "panel_width": 5.0, "panel_height": 3.6}  # config/config.yaml's plots


# The per-model figures a swept model has, and the benchmark each job writes (rules plot_curves
# and plot_confusion).
def leaderboard(markdown: str) -> pd.DataFrame:
    """The experiments section's leaderboard, cells as text."""
    section = markdown.split("## Experiments beyond the study")[1]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]
    rows = [row for row in rows if row[0].isdigit()]
    return pd.DataFrame(rows, columns=header)


@pytest.mark.slow
@pytest.mark.parametrize("size", SWEEP_SIZES)
def test_a_sweeps_experiments_open_with_every_model_ranked_by_test_accuracy(
    sweeps: dict[int, Path], size: int
) -> None:
    workdir = sweeps[size]
    markdown = (workdir / "results/report/report.md").read_text()
    table = leaderboard(markdown)
    experiments = read_experiments(workdir / "results/tables/experiments.csv")
    assert len(table) == size == len(experiments)
    assert list(table["rank"]) == [str(rank) for rank in range(1, size + 1)]
    accuracies = [float(cell.split("%")[0]) for cell in table["test accuracy (95% CI)"]]
    assert accuracies == sorted(accuracies, reverse=True)
    names = [name.split(" ")[0] for name in table["model"]]
    assert names == ranking(experiments)
    assert table["model"][0].startswith(f"{names[0]} ★ best")
    marked = {name.split(" ")[0] for name in table["model"] if "(coursework)" in name}
    assert marked == set(MODELS)
    varying = list(experiments.columns[2 : experiments.columns.get_loc("params")])
    assert list(table.columns) == [
        "rank",
        "model",
        "test accuracy (95% CI)",
        "vs baseline (points)",
        "p (Holm)",
        "verdict",
        *varying,
    ]
    shared = re.search(r"The settings the models share: (.*)\.", markdown).group(1)
    assert "epochs 10" in shared and not any(f"{key} " in shared for key in varying)


@pytest.mark.slow
@pytest.mark.parametrize("size", SWEEP_SIZES)
def test_a_sweeps_page_shows_at_most_twelve_figures_and_folds_each_models_own(
    sweeps: dict[int, Path], size: int
) -> None:
    page = (sweeps[size] / STUDY_REPORT).read_text()
    in_flow, figures = figures_in_flow(page)
    assert in_flow <= 12
    folded = re.findall(r"<details>\s*<summary>([^<]+)</summary>", page)
    swept = [name for name in folded if name.split(":")[0] not in MODELS and ": " in name]
    assert len(swept) == size - len(MODELS)
    assert figures == in_flow + 2 * len(swept) + 2  # and the two confusion matrices of §3


@pytest.mark.slow
@pytest.mark.parametrize("size", SWEEP_SIZES)
def test_a_sweeps_two_reports_say_the_same_words(sweeps: dict[int, Path], size: int) -> None:
    folder = sweeps[size] / "results/report"
    html, markdown = (folder / "report.html").read_text(), (folder / "report.md").read_text()
    assert words_of_html(html) == words_of_markdown(markdown)


@pytest.mark.slow
def test_a_sweeps_figures_are_legible_and_no_text_overlaps(
    sweeps: dict[int, Path], tmp_path: Path
) -> None:
    """The figures that change with a sweep's size, drawn at the study's settings from the
    51 models' outputs: every model's curves (the best few labelled), a panel per setting,
    and the forest plot."""
    workdir = sweeps[51]
    experiments = read_experiments(workdir / "results/tables/experiments.csv")
    assert len(experiments) > MANY_MODELS
    curves = {
        model: read_curves([str(workdir / f"results/metrics/{model}/seed0.csv")])
        for model in experiments["model"]
    }
    comparisons = pd.read_csv(workdir / "results/tables/comparisons.csv")
    accuracy = pd.read_csv(workdir / "results/tables/test_accuracy.csv")
    table, settings = accuracy_by_setting(settings_of(workdir, bench_config(51)), accuracy)
    assert settings == ["batch_size", "dropout", "hidden_sizes", "learning_rate", "weight_decay"]
    with drawn_figures() as saved:
        plots.plot_experiments(curves, str(tmp_path / "a.png"), STYLE, ranking(accuracy), "cnn")
        plots.plot_setting_slices(table, settings, str(tmp_path / "b.png"), STYLE)
        plots.plot_comparisons(comparisons, str(tmp_path / "c.png"), STYLE, alpha=0.05)
    assert len(saved) == 3
    for fig, path, dpi in saved:
        assert illegible_text(fig, Path(path), dpi) == {}, path
        assert overlapping_texts(fig) == [], path
    labels = {text.get_text() for text in saved[0][0].axes[0].texts}
    assert labels == {*ranking(accuracy)[: plots.HIGHLIGHTED], "cnn (baseline)"} - {"cnn"}
