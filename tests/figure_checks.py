"""What the figure tests look for in a figure as the HTML report shows it: text too small to
read, and texts drawn over one another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from fashion_mnist_study.outputs import plots

# The HTML report's text column: max-width 60em of a 16 px font (templates/frame.html.j2); a
# wider figure is shown scaled down to it. Text smaller than LEGIBLE_PX there is hard to read.
REPORT_COLUMN_PX = 960
LEGIBLE_PX = 11


@contextmanager
def drawn_figures() -> Iterator[list[tuple[object, str, int]]]:
    """Every figure the plots module saves meanwhile, with its path and dpi, kept for checks."""
    saved: list[tuple[object, str, int]] = []
    save = plots._save

    def keeping(fig, path, dpi):
        saved.append((fig, path, dpi))
        save(fig, path, dpi)

    plots._save = keeping
    try:
        yield saved
    finally:
        plots._save = save


def illegible_text(fig, png: Path, dpi: int) -> dict[str, float]:
    """The texts of `fig`, saved to `png` at `dpi`, that the HTML report shows under
    LEGIBLE_PX high: their font size at the figure's dpi, scaled down with a figure wider than
    the report's column."""
    scale = min(1.0, REPORT_COLUMN_PX / Image.open(png).width)
    hidden = [  # the tick labels and axis labels of axes turned off
        text
        for ax in fig.axes
        if not ax.axison
        for text in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]
    ]
    shown = {
        text.get_text(): round(text.get_fontsize() * dpi / 72 * scale, 1)
        for text in fig.findobj(Text)
        if text.get_text().strip() and text.get_visible() and text not in hidden
    }
    return {text: px for text, px in shown.items() if px < LEGIBLE_PX}


def drawn_texts(fig, renderer) -> list[tuple[Text, object]]:
    """The texts `fig` shows, each with its box as drawn: tick labels only of the ticks in
    view (an axis keeps labels for ticks beyond its limits, which it does not draw), nothing
    of axes turned off."""
    hidden = {id(text) for ax in fig.axes if not ax.axison for text in ax.findobj(Text)}
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = min(low, high), max(low, high)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return [
        (text, text.get_window_extent(renderer))
        for text in fig.findobj(Text)
        if text.get_text().strip() and text.get_visible() and id(text) not in hidden
    ]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of texts of `fig` whose boxes overlap as drawn: a label over another. Tick labels
    of one axis turned by the same angle are left out: their upright boxes overlap where the
    turned texts do not, and the ticks' spacing keeps them apart."""
    renderer = FigureCanvasAgg(fig).get_renderer()  # the figure is closed once saved
    fig.draw(renderer)
    texts = drawn_texts(fig, renderer)
    turned = {id(text) for text, _ in texts if text.get_rotation() % 180}
    return [
        (a.get_text(), b.get_text())
        for i, (a, box_a) in enumerate(texts)
        for b, box_b in texts[i + 1 :]
        if not (id(a) in turned and id(b) in turned and a.get_rotation() == b.get_rotation())
        and box_a.overlaps(box_b)
        and min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1
        and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1
    ]
