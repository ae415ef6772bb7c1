"""The study's figures, in one consistent style (matplotlib, no display needed)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fashion_mnist_study.analysis.results import Curves  # noqa: E402
from fashion_mnist_study.core.atomic import atomic_path  # noqa: E402
from fashion_mnist_study.core.settings import COURSEWORK_PAIRS, MANY_MODELS  # noqa: E402

if TYPE_CHECKING:  # examples imports torchvision, which no other plot job needs
    from fashion_mnist_study.analysis.examples import ImageGroup

COLORS = {"cnn": "tab:blue", "cnn_regularized": "tab:green", "mlp": "tab:orange"}
# Other models, in the order they are drawn: the tab10 colors the study's three do not use.
OTHER_COLORS = ["tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
LINESTYLES = ["-", "--", ":", "-."]
LABELS = {"cnn": "CNN", "cnn_regularized": "CNN + dropout/weight decay", "mlp": "MLP"}
# A figure of many models labels this many, the best, beside the baseline.
HIGHLIGHTED = 5
LABEL_SIZE = 8


def _save(fig: plt.Figure, path: str | os.PathLike[str], dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)


def _band(
    ax: plt.Axes,
    epochs: np.ndarray,
    values: np.ndarray,
    label: str,
    color: str,
    linestyle: str = "-",
) -> None:
    """Mean over seeds as a line; with several seeds, a band of +- one standard deviation."""
    mean = values.mean(axis=0)
    suffix = f" (mean of {values.shape[0]} seeds)" if values.shape[0] > 1 else ""
    ax.plot(epochs, mean, color=color, linestyle=linestyle, label=label + suffix)
    if values.shape[0] > 1:
        std = values.std(axis=0, ddof=1)
        ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)


def _epoch_axis(ax: plt.Axes, epochs: np.ndarray) -> None:
    ax.set_xlabel("epoch")
    if len(epochs) > 1:
        ax.set_xlim(epochs[0], epochs[-1])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)


def plot_filters(numpy_out: dict, torch_out: dict, path: str, style: dict) -> None:
    """Per example two rows, the convolution's output and the pooled one; the input, then per
    filter NumPy's and PyTorch's output side by side.

    Why two rows per example: in one row the 13 panels make a figure twice as wide as the
    report's column, which shows it, and its text, at half size.
    """
    images, names = numpy_out["images"], [str(n) for n in numpy_out["kernel_names"]]
    n_examples, n_filters = numpy_out["conv"].shape[:2]
    pool = int(numpy_out["pool"])
    columns = 1 + 2 * n_filters
    fig, axes = plt.subplots(
        2 * n_examples, columns, figsize=(1.1 * columns, 2.4 * n_examples), squeeze=False
    )
    for example in range(n_examples):
        for stage, (key, label) in enumerate([("conv", "conv"), ("pooled", f"{pool}x{pool} pool")]):
            row = axes[2 * example + stage]
            panels = [images[example] if stage == 0 else None]
            for f in range(n_filters):
                panels += [numpy_out[key][example, f], torch_out[key][example, f]]
            for column, (ax, image) in enumerate(zip(row, panels, strict=True)):
                ax.set_xticks([])
                ax.set_yticks([])
                if image is None:
                    ax.axis("off")
                    continue
                ax.imshow(image, cmap="gray")
                if example == 0 and stage == 0:
                    implementation = ("NumPy", "PyTorch")[(column - 1) % 2]
                    title = f"{names[(column - 1) // 2]}\n{implementation}" if column else "input"
                    ax.set_title(title, fontsize=8)
            # The pooled row has no input panel: its label goes beside its first output.
            labelled = row[0] if stage == 0 else row[1]
            labelled.set_ylabel(f"test #{int(numpy_out['examples'][example])}\n{label}", fontsize=8)
    fig.suptitle(
        f"Shallow convolution (3x3 filters) and {pool}x{pool} average pooling: NumPy vs PyTorch"
    )
    _save(fig, path, style["dpi"])


def plot_curves(model: str, curves: Curves, path: str, style: dict) -> None:
    """Training and validation accuracy (left) and loss (right) per epoch."""
    fig, (acc_ax, loss_ax) = plt.subplots(
        1, 2, figsize=(2 * style["panel_width"], style["panel_height"])
    )
    for ax, train, val, name in (
        (acc_ax, curves.train_acc, curves.val_acc, "accuracy"),
        (loss_ax, curves.train_loss, curves.val_loss, "cross-entropy loss"),
    ):
        _band(ax, curves.epochs, train, "training", "tab:blue")
        _band(ax, curves.epochs, val, "validation", "tab:red")
        ax.set_ylabel(name)
        _epoch_axis(ax, curves.epochs)
        ax.legend()
    fig.suptitle(f"{LABELS.get(model, model)}: training and validation per epoch")
    fig.tight_layout()
    _save(fig, path, style["dpi"])


def _compare_models(
    curves: dict[str, Curves],
    values: str,
    ylabel: str,
    title: str,
    path: str,
    style: dict,
    zero_line: bool = False,
    legend_outside: bool = False,
) -> None:
    """One line (or band) per model of `values`, an attribute of Curves, in percent."""
    fig, ax = plt.subplots(figsize=(style["panel_width"] * 1.4, style["panel_height"]))
    others = [model for model in curves if model not in COLORS]
    for model, model_curves in curves.items():
        if model in COLORS:
            color, linestyle = COLORS[model], "-"
        else:  # cycle colors first, then line styles: 24 models stay distinguishable
            i = others.index(model)
            color = OTHER_COLORS[i % len(OTHER_COLORS)]
            linestyle = LINESTYLES[i // len(OTHER_COLORS) % len(LINESTYLES)]
        _band(
            ax,
            model_curves.epochs,
            100 * getattr(model_curves, values),
            LABELS.get(model, model),
            color,
            linestyle,
        )
    if zero_line:
        ax.axhline(0, color="gray", linewidth=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _epoch_axis(ax, max((c.epochs for c in curves.values()), key=len))  # models may differ
    if legend_outside:  # many models: beside the axes, not over the curves
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7)
    else:
        ax.legend()
    _save(fig, path, style["dpi"])


def plot_overfitting(curves: dict[str, Curves], path: str, style: dict) -> None:
    """Train-validation accuracy gap per epoch, with and without regularization."""
    _compare_models(
        curves,
        "gap",
        "training - validation accuracy (points)",
        "Overfitting: accuracy gap per epoch",
        path,
        style,
        zero_line=True,
    )


def plot_experiments(
    curves: dict[str, Curves], path: str, style: dict, ranking: list[str], baseline: str
) -> None:
    """Validation accuracy per epoch of every model trained. Up to MANY_MODELS, each in its
    own colour with a legend; beyond, the best few of `ranking` (models, best first) and the
    baseline in colour, each labelled at its line's end, the others thin and grey."""
    title, ylabel = "Validation accuracy of every model", "validation accuracy (%)"
    if len(curves) <= MANY_MODELS:
        _compare_models(
            curves, "val_acc", ylabel, title, path, style, legend_outside=len(curves) > 4
        )
        return
    shown = list(dict.fromkeys([*ranking[:HIGHLIGHTED], baseline]))
    fig, ax = plt.subplots(figsize=(style["panel_width"] * 1.4, style["panel_height"]))
    for model, model_curves in curves.items():
        if model not in shown:
            ax.plot(
                model_curves.epochs,
                100 * model_curves.val_acc.mean(axis=0),
                color="0.75",
                linewidth=0.7,
                zorder=1,
            )
    ends = {}
    for i, model in enumerate(shown):
        model_curves = curves[model]
        color = OTHER_COLORS[i % len(OTHER_COLORS)] if model != baseline else "black"
        mean = 100 * model_curves.val_acc.mean(axis=0)
        ax.plot(model_curves.epochs, mean, color=color, linewidth=1.6, zorder=2)
        ends[model] = (model_curves.epochs[-1], mean[-1], color)
    # The labels go right of the axes, inside the figure's width: a figure wider than the
    # report's column would be shown scaled down, its text with it.
    longest = max(len(model) for model in shown) + len(" (baseline)")
    label_inches = longest * LABEL_SIZE * 0.6 / 72 + 0.2
    fig.subplots_adjust(right=max(0.45, 1 - label_inches / fig.get_figwidth()))
    _label_line_ends(ax, ends, baseline)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}: the {HIGHLIGHTED} best by test accuracy and the baseline")
    _epoch_axis(ax, max((c.epochs for c in curves.values()), key=len))
    _save(fig, path, style["dpi"])


def _label_line_ends(
    ax: plt.Axes, ends: dict[str, tuple[float, float, str]], baseline: str
) -> None:
    """Each line's name beside its last point, right of the axes, moved apart vertically
    where the lines end close together, so that no two labels overlap, and kept within the
    axes' height, below the title."""
    ax.figure.canvas.draw()  # the axes' final size, to convert a label's height to data units
    low, high = ax.get_ylim()
    points_per_unit = ax.get_window_extent().height * 72 / ax.figure.dpi / (high - low)
    gap = 1.3 * LABEL_SIZE / points_per_unit
    order = sorted(ends, key=lambda model: ends[model][1])
    placed: list[float] = []
    for model in order:
        wanted = ends[model][1]
        placed.append(max(wanted, placed[-1] + gap) if placed else wanted)
    overflow = max(0.0, placed[-1] - (high - gap / 2)) if placed else 0.0  # below the title
    for model, y in zip(order, placed, strict=True):
        x, _, color = ends[model]
        name = f"{model} (baseline)" if model == baseline else model
        ax.annotate(
            name,
            (1.01, y - overflow),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=LABEL_SIZE,
            color=color,
            annotation_clip=False,
        )


def plot_setting_slices(table: pd.DataFrame, settings: list[str], path: str, style: dict) -> None:
    """One small panel per setting of `settings` (those that differ between the models): each
    model's test accuracy with its 95% interval (`table`'s test_acc_mean, _low, _high) against
    its value of the setting (`table`'s column of that name), values in order along the axis,
    so that which setting matters shows at a glance. Models without the setting (an empty cell)
    are left out of its panel."""
    columns = min(3, max(1, len(settings)))
    rows = max(1, -(-len(settings) // columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(style["panel_width"] * 0.7 * columns, style["panel_height"] * 0.8 * rows),
    )
    for ax in axes.flat[len(settings) :]:
        ax.set_axis_off()
    if not settings:
        axes[0, 0].text(0.5, 0.5, "every model has the same settings", ha="center", va="center")
    for ax, setting in zip(axes.flat, settings, strict=False):
        _slice(ax, table, setting)
    fig.suptitle("Test accuracy against each setting that differs (95% intervals)")
    _save(fig, path, style["dpi"])


def _slice(ax: plt.Axes, table: pd.DataFrame, setting: str) -> None:
    rows = table[table[setting].astype(str) != ""]
    values = sorted(rows[setting].astype(str).unique(), key=_setting_order)
    position = {value: i for i, value in enumerate(values)}
    x = rows[setting].astype(str).map(position).to_numpy(dtype=float)
    spread = np.linspace(-0.15, 0.15, len(rows)) if len(rows) > 1 else np.zeros(1)
    mean = 100 * rows["test_acc_mean"].to_numpy()
    errors = [mean - 100 * rows["test_acc_low"].to_numpy(), 100 * rows["test_acc_high"] - mean]
    ax.errorbar(
        x + spread,
        mean,
        yerr=errors,
        fmt="o",
        markersize=3,
        color="tab:blue",
        ecolor="0.6",
        elinewidth=0.8,
    )
    ax.set_xticks(range(len(values)), values, rotation=30 if len(values) > 4 else 0)
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel(setting)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(axis="y", alpha=0.3)


def _setting_order(value: str) -> tuple[int, float, str]:
    """Numbers by size, then any other values by name."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def plot_validation_accuracy(curves: dict[str, Curves], path: str, style: dict, title: str) -> None:
    """Validation accuracy of several models over the epochs."""
    _compare_models(curves, "val_acc", "validation accuracy (%)", title, path, style)


def plot_confusion(
    model: str, matrix: np.ndarray, class_names: list[str], path: str, style: dict
) -> None:
    """Row-normalised confusion matrix: each true class's test images by predicted class (%)."""
    size = max(style["panel_width"], style["panel_height"]) * 1.3
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(100 * matrix, cmap="Blues", vmin=0, vmax=100)
    for (row, column), share in np.ndenumerate(matrix):
        if share >= 0.005:
            color = "white" if share > 0.6 else "black"
            ax.text(
                column, row, f"{100 * share:.0f}", ha="center", va="center", fontsize=9, color=color
            )
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=9)
    ax.set_yticks(ticks, class_names, fontsize=9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{LABELS.get(model, model)}: test images per true class (%)")
    fig.tight_layout()
    _save(fig, path, style["dpi"])


def plot_image_groups(groups: list[ImageGroup], path: str, style: dict) -> None:
    """Each group's grid of images above the next, a caption in the gap under each image."""
    if not groups:
        fig, ax = plt.subplots(figsize=(style["panel_width"], 1))
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            "no test image is right in one model and wrong in the other",
            ha="center",
            va="center",
        )
        _save(fig, path, style["dpi"])
        return
    heights = [group.grid.shape[0] for group in groups]
    width = max(group.grid.shape[1] for group in groups)
    inches_per_pixel, title_inches = 1 / 40, 0.3
    fig, axes = plt.subplots(
        len(groups),
        1,
        squeeze=False,
        layout="constrained",
        figsize=(
            width * inches_per_pixel,
            sum(heights) * inches_per_pixel + title_inches * len(groups),
        ),
        gridspec_kw={"height_ratios": heights},
    )
    for ax, group in zip(axes[:, 0], groups, strict=True):
        ax.imshow(group.grid, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        ax.set_title(group.title, fontsize=10)
        pitch = group.tile + group.padding
        for i, caption in enumerate(group.captions):
            row, column = divmod(i, group.columns)
            x = group.padding + pitch * column + group.tile / 2
            y = group.padding + pitch * row + group.tile + 1
            ax.text(x, y, caption, ha="center", va="top", fontsize=8)
    _save(fig, path, style["dpi"])


def plot_comparisons(comparisons: pd.DataFrame, path: str, style: dict, alpha: float) -> None:
    """A forest plot: each compared pair's difference in test accuracy (points) with its 95%
    interval against a zero line; a filled marker where the Holm-adjusted verdict at `alpha`
    calls the difference real, a hollow one where it does not. Of a sweep's (more than
    MANY_MODELS models), only the coursework's pairs: the report's leaderboard shows the others'
    differences from the baseline, and its table every comparison."""
    models = set(comparisons["model_a"]) | set(comparisons["model_b"])
    title = f"Every comparison: filled = distinguishable at alpha = {alpha:g} (Holm-adjusted)"
    if len(models) > MANY_MODELS:
        pairs = comparisons[["model_a", "model_b"]].apply(tuple, axis=1)
        comparisons = comparisons[pairs.isin(COURSEWORK_PAIRS)]
        title = title.replace("Every comparison", "The coursework's comparisons")
    rows = len(comparisons)
    fig, ax = plt.subplots(
        figsize=(style["panel_width"] * 1.6, 1.0 + 0.45 * rows), layout="constrained"
    )
    ax.axvline(0, color="gray", linewidth=0.8)
    for y, row in enumerate(comparisons.itertuples(index=False)):
        distinguishable = bool(row.distinguishable)
        low, high = 100 * row.difference_low, 100 * row.difference_high
        ax.plot([low, high], [y, y], color="black", linewidth=1.5)
        ax.plot(
            100 * row.difference,
            y,
            "o",
            markersize=7,
            color="black",
            markerfacecolor="black" if distinguishable else "white",
        )
        p = f"p = {row.p_holm:.2g}" if row.p_holm == row.p_holm else "p undefined"  # NaN
        ax.annotate(
            f"{row.verdict} ({p})",
            (1.02, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    labels = [
        f"{a} - {b}" for a, b in zip(comparisons["model_a"], comparisons["model_b"], strict=True)
    ]
    ax.set_yticks(range(rows), labels)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlabel("difference in test accuracy (points), 95% interval")
    ax.set_title(title, fontsize=9)
    _save(fig, path, style["dpi"])
