"""The latest full run in the README and the manual, written once and shown where needed.

`docs/latest-run/` holds that run: `run.yaml` describes it (date, commit, command, machine,
torch, settings, wall time and load, notes), and the files beside it are its tables
(SNAPSHOT_TABLES, from its `results/tables/`) and the figure the README shows. This command
renders them, through the templates in `templates/`, into each page of PAGES between the page's
two marker lines (BEGIN, END), so that no result of that run is written by hand in a page:

    python -m fashion_mnist_study.tools.docs_results            # render into the pages
    python -m fashion_mnist_study.tools.docs_results --check    # exit 1 naming a stale page
    python -m fashion_mnist_study.tools.docs_results --from RUN_DIR --command ... --jobs ... \\
        --machine ... --wall-time ... --load ... [--idle]        # take a new finished run

`--from` copies a finished run's files (SNAPSHOT_FILES) into `docs/latest-run/` and writes its
`run.yaml` from the options and from the run itself (the date and the peak memory from its
result files, the commit from its checkout's git, torch's version from this environment), then
renders. Run it in the repository root (`make docs-results` does); `make docs` fails while a
page is stale.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined

from fashion_mnist_study.analysis.evidence import MCNEMAR
from fashion_mnist_study.analysis.results import COURSEWORK
from fashion_mnist_study.core.checksums import read_result
from fashion_mnist_study.core.formats import interval, pct
from fashion_mnist_study.core.settings import COURSEWORK_MODELS, COURSEWORK_PAIRS
from fashion_mnist_study.outputs.report.wording import p_text

SNAPSHOT = Path("docs/latest-run")
SNAPSHOT_TABLES = ("test_accuracy.csv", "comparisons.csv", "experiments.csv")
# The snapshot's files and where a finished run has them: its tables, and the figure the
# README shows.
SNAPSHOT_FILES = {
    **{name: f"results/tables/{name}" for name in SNAPSHOT_TABLES},
    "mlp_vs_cnn.png": "results/plots/mlp_vs_cnn.png",
}
DESCRIPTION = "run.yaml"

# Each page that shows the latest run, and the template of what it shows there.
PAGES = {
    "README.md": "latest_run_readme.md.j2",
    "docs/study.md": "latest_run_study.md.j2",
    "docs/speed.md": "latest_run_speed.md.j2",
}
# Markdown link reference definitions: invisible on GitHub and in the manual alike (the manual
# renders no raw HTML, so an HTML comment would show).
BEGIN = (
    '[latest-run:begin]: # "Made by make docs-results from docs/latest-run/: '
    'edit those files, not this block"'
)
END = "[latest-run:end]: #"

# What run.yaml must say, and what the options of --from fill in.
RUN_KEYS = (
    "date",
    "commit",
    "command",
    "result_cache",
    "machine",
    "torch",
    "settings",
    "idle",
    "load",
    "wall_time",
    "jobs",
    "peak_memory",
    "tables",
    "notes",
)


@dataclass(frozen=True)
class LatestRun:
    """The snapshot: run.yaml's description and the run's tables."""

    run: dict
    accuracy: pd.DataFrame
    comparisons: pd.DataFrame
    experiments: pd.DataFrame


def read_snapshot(folder: Path) -> LatestRun:
    run = yaml.safe_load((folder / DESCRIPTION).read_text())
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise SystemExit(f"{folder / DESCRIPTION}: no {', '.join(missing)}")
    tables = [
        pd.read_csv(folder / name, keep_default_na=False, na_values=[""])
        for name in SNAPSHOT_TABLES
    ]
    return LatestRun(run, *tables)


# Numbers as the pages write them, as the report does (core.formats): accuracies in percent
# with their interval, "91.81% (91.26 to 92.33)" in tables and "91.81% (95% CI 91.26 to
# 92.33%)" in sentences; differences in points; p-values to two digits.


def accuracy_cell(mean: float, low: float, high: float) -> str:
    return f"{pct(mean)} ({interval(low, high)})"


def accuracy_sentence(mean: float, low: float, high: float) -> str:
    return f"{pct(mean)} (95% CI {interval(low, high)}%)"


def points(value: float) -> str:
    return f"{100 * value:+.2f}"


def points_cell(difference: float, low: float, high: float) -> str:
    return f"{points(difference)} ({interval(low, high, sign='+')})"


def duration(seconds: float) -> str:
    """49 min 08 s; 41.5 s under a minute; 1 h 02 min over an hour."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# What Markdown reads as the start of another block (a list, a quote, a heading, a table row,
# a MyST comment) when a line of a paragraph begins with it.
BLOCK_START = re.compile(r"^(?:[-+*>#|%]|\d+[.)])(?:\s|$)")
# A number and its unit stay on one line: "55 min 10 s", "1.11 GB", "0.42 points".
WITH_UNIT = re.compile(r"\d+ min \d+ s|\d+ h \d+ min|\d[\d.,]* (?:s|min|GB|points)\b")
NO_BREAK = "\x00"


def wrap(text: str, width: int = 100) -> str:
    """A paragraph wrapped as the pages' source is, at `width`, a number kept with its unit; a
    line that would begin a block of its own stays on the line before."""
    text = WITH_UNIT.sub(lambda match: match[0].replace(" ", NO_BREAK), " ".join(text.split()))
    lines: list[str] = []
    for line in textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False):
        if lines and BLOCK_START.match(line):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return "\n".join(lines).replace(NO_BREAK, " ") + "\n"


def markdown(table: pd.DataFrame) -> str:
    """A table of already formatted cells in Markdown, by pandas (cells are taken as text)."""
    return table.to_markdown(index=False, disable_numparse=True)


def interval_of(row: pd.Series, prefix: str) -> tuple[float, float]:
    """An accuracy's 95% interval: the t interval over seeds with several, else Wilson's over
    the test images."""
    if pd.notna(row.get(f"{prefix}_seeds_low")):
        return row[f"{prefix}_seeds_low"], row[f"{prefix}_seeds_high"]
    return row[f"{prefix}_low"], row[f"{prefix}_high"]


def coursework_cell(model: str) -> str:
    """The coursework's reported test accuracy of a model of the study, empty for others."""
    if model == "mlp":
        its_cnn = pct(COURSEWORK["mlp_vs_cnn_cnn_test_acc"])
        return f"{pct(COURSEWORK['mlp_test_acc'])} (its CNN: {its_cnn})"
    key = f"{model}_test_acc"
    return pct(COURSEWORK[key]) if key in COURSEWORK else ""


def accuracy_table(latest: LatestRun, models: list[str], extra: bool) -> str:
    """Per model: parameters, test accuracy with its interval, the coursework's; with `extra`,
    best validation accuracy and the last epoch's train - validation gap (experiments.csv)."""
    experiments = latest.experiments.set_index("model")
    rows = []
    for _, row in latest.accuracy.set_index("model").loc[models].reset_index().iterrows():
        cells = {
            "model": row["model"],
            "parameters": f"{int(row['params']):,}",
            "test accuracy (95% CI)": accuracy_cell(
                row["test_acc_mean"], *interval_of(row, "test_acc")
            ),
            "the coursework": coursework_cell(row["model"]),
        }
        if extra:
            summary = experiments.loc[row["model"]]
            cells["best validation"] = pct(summary["best_val_acc"])
            cells["last train - validation gap"] = f"{100 * summary['final_gap']:.2f} points"
        rows.append(cells)
    return markdown(pd.DataFrame(rows))


def comparisons_table(comparisons: pd.DataFrame, extra: bool) -> str:
    """Per compared pair: the difference in points with its interval, the Holm-adjusted p and
    the verdict; with `extra`, b / c and McNemar's p as well."""
    table = pd.DataFrame(
        {
            "comparison": comparisons["model_a"] + " vs " + comparisons["model_b"],
            "difference, points (95% CI)": [
                points_cell(*bounds)
                for bounds in comparisons[
                    ["difference", "difference_low", "difference_high"]
                ].itertuples(index=False)
            ],
        }
    )
    if extra:
        table["b / c"] = comparisons["b"].astype(str) + " / " + comparisons["c"].astype(str)
        table["McNemar p"] = [
            " ".join(p_text(float(p)) for p in str(ps).split()) for ps in comparisons["mcnemar_p"]
        ]
    table["Holm-adjusted p"] = comparisons["p_holm"].map(p_text)
    table["verdict"] = comparisons["verdict"]
    return markdown(table)


def study_pairs(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The rows of the study's own pairs, in COURSEWORK_PAIRS' order."""
    rows = comparisons.set_index(["model_a", "model_b"])
    return rows.loc[list(COURSEWORK_PAIRS)].reset_index()


def findings(latest: LatestRun) -> dict[str, dict]:
    """The study's two questions, answered by the run beside the coursework's answers: for
    `regularization` (cnn_regularized vs cnn) and `architecture` (cnn vs mlp), the lead in
    points with its interval and p, whether it is beyond chance and who is ahead."""
    accuracy = latest.accuracy.set_index("model")["test_acc_mean"]
    coursework = {
        "regularization": COURSEWORK["cnn_regularized_test_acc"] - COURSEWORK["cnn_test_acc"],
        "architecture": COURSEWORK["mlp_vs_cnn_cnn_test_acc"] - COURSEWORK["mlp_test_acc"],
    }
    answers = {}
    for name, (_, row) in zip(coursework, study_pairs(latest.comparisons).iterrows(), strict=True):
        difference, low, high = row["difference"], row["difference_low"], row["difference_high"]
        lead_low, lead_high = (low, high) if difference > 0 else (-high, -low)
        answers[name] = {
            "distinguishable": bool(row["distinguishable"]),
            "first_ahead": difference > 0,
            "difference": points(difference),
            "interval": f"{points(low)} to {points(high)}",
            "lead": f"{abs(100 * difference):.2f}",
            "lead_interval": f"{100 * lead_low:.2f} to {100 * lead_high:.2f}",
            "p_holm": p_text(row["p_holm"]),
            "coursework_lead": f"{100 * coursework[name]:.2f}",
        }
    answers["mlp"] = {"run": pct(accuracy["mlp"]), "coursework": pct(COURSEWORK["mlp_test_acc"])}
    return answers


def worked_example(comparisons: pd.DataFrame) -> dict | None:
    """The first row read in words, when its verdict rests on McNemar's test (one seed)."""
    row = comparisons.iloc[0]
    if row["test"] != MCNEMAR:
        return None
    difference, low, high = row["difference"], row["difference_low"], row["difference_high"]
    if low < 0 < high:
        bounds = (points(low), points(high))
    elif difference > 0:
        bounds = (f"{100 * low:.2f}", f"{100 * high:.2f}")
    else:
        bounds = (f"{-100 * high:.2f}", f"{-100 * low:.2f}")
    return {
        "a": row["model_a"],
        "b": row["model_b"],
        "only_a": int(row["b"]),
        "only_b": int(row["c"]),
        "p": f"{float(row['mcnemar_p']):.1g}",
        "ahead": row["model_a"] if difference > 0 else row["model_b"],
        "low": bounds[0],
        "high": bounds[1],
        "crosses_zero": low < 0 < high,
    }


def trainings(latest: LatestRun) -> list[dict]:
    """Each model's training time (validation included) and its seconds per epoch."""
    return [
        {
            "model": row["model"],
            "time": duration(row["train_seconds"]),
            "per_epoch": f"{row['train_seconds'] / row['epochs']:.1f}",
        }
        for _, row in latest.experiments.iterrows()
    ]


def context(latest: LatestRun) -> dict:
    """What the templates show, every number already formatted."""
    accuracy = latest.accuracy
    seeds = sorted({seed for seeds in accuracy["seeds"].astype(str) for seed in seeds.split()})
    study_models = [model for model in COURSEWORK_MODELS if model in set(accuracy["model"])]
    return {
        "begin": BEGIN,
        "end": END,
        "run": latest.run,
        "epochs": ", ".join(map(str, sorted(set(accuracy["epochs"])))),
        "seeds": f"seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}",
        "n_test": f"{int(latest.comparisons['n_test'].iloc[0]):,}",
        "tables": ", ".join(f"`{name}`" for name in SNAPSHOT_TABLES),
        "study_accuracy": accuracy_table(latest, study_models, extra=False),
        "study_comparisons": comparisons_table(study_pairs(latest.comparisons), extra=False),
        "accuracy": accuracy_table(latest, list(accuracy["model"]), extra=True),
        "comparisons": comparisons_table(latest.comparisons, extra=True),
        "findings": findings(latest),
        "example": worked_example(latest.comparisons),
        "trainings": trainings(latest),
        "notes": (latest.run["notes"] or "").strip(),
    }


def environment() -> Environment:
    templates = Environment(
        loader=PackageLoader("fashion_mnist_study.tools", "templates"),
        autoescape=False,  # Markdown, not HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters["wrap"] = wrap
    return templates


def blocks(latest: LatestRun) -> dict[str, str]:
    """Page -> its block, from BEGIN to END."""
    values = context(latest)
    templates = environment()
    return {page: templates.get_template(name).render(values) for page, name in PAGES.items()}


def with_block(text: str, block: str, page: str) -> str:
    """`text` with the lines from BEGIN to END replaced by `block`."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith("[latest-run:begin]:")]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\n") == END]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise SystemExit(
            f"{page}: needs one line starting '[latest-run:begin]:' and, below it, one line '{END}'"
        )
    return "".join(lines[: begins[0]]) + block + "".join(lines[ends[0] + 1 :])


def rendered_pages(root: Path) -> dict[Path, tuple[str, str]]:
    """Each page: its text now, and its text with the latest run rendered from the snapshot."""
    latest = read_snapshot(root / SNAPSHOT)
    pages = {}
    for page, block in blocks(latest).items():
        text = (root / page).read_text()
        pages[root / page] = (text, with_block(text, block, page))
    return pages


def stale_pages(root: Path) -> list[str]:
    """The pages whose latest run differs from the snapshot's."""
    return [
        str(page.relative_to(root))
        for page, (now, new) in rendered_pages(root).items()
        if now != new
    ]


def render(root: Path) -> list[str]:
    """Render the snapshot into the pages; returns the pages that changed."""
    changed = []
    for page, (now, new) in rendered_pages(root).items():
        if now != new:
            page.write_text(new)
            changed.append(str(page.relative_to(root)))
    return changed


def run_facts(run_dir: Path) -> dict[str, object]:
    """What a finished run says of itself: the date of its last training, the range of its
    trainings' peak memory, and its checkout's commit."""
    results = [read_result(path) for path in sorted(run_dir.glob("results/metrics/*/seed*.json"))]
    if not results:
        raise SystemExit(f"{run_dir}: no results/metrics/*/seed*.json: not a finished run")
    peaks = [result["peak_rss_mb"] / 1024 for result in results]
    commit = subprocess.run(
        ["git", "-C", str(run_dir), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": max(result["trained_at"] for result in results)[:10],
        "commit": commit or "not recorded",
        "peak_memory": f"{min(peaks):.2f} to {max(peaks):.2f} GB",
    }


def take_run(root: Path, run_dir: Path, options: argparse.Namespace) -> None:
    """Replace the snapshot with a finished run's files and description."""
    missing = [path for path in SNAPSHOT_FILES.values() if not (run_dir / path).is_file()]
    if missing:
        raise SystemExit(f"{run_dir}: no {', '.join(missing)}: not a finished run")
    snapshot = root / SNAPSHOT
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, path in SNAPSHOT_FILES.items():
        shutil.copyfile(run_dir / path, snapshot / name)
    run = {
        **run_facts(run_dir),
        "command": options.command,
        "result_cache": options.result_cache,
        "machine": options.machine,
        "torch": importlib.metadata.version("torch"),
        "settings": options.settings,
        "idle": options.idle,
        "load": options.load,
        "wall_time": options.wall_time,
        "jobs": options.jobs,
        "tables": "copies of the run's results/tables/ files",
        "notes": "",
    }
    header = (snapshot / DESCRIPTION).read_text().split("\n\n")[0] + "\n\n"
    body = yaml.safe_dump({key: run[key] for key in RUN_KEYS}, sort_keys=False, width=96)
    (snapshot / DESCRIPTION).write_text(header + body)
    print(f"{snapshot / DESCRIPTION}: notes emptied; write what this run shows there")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fashion_mnist_study.tools.docs_results",
        description="Render docs/latest-run/ into README.md and the manual.",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's root")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    new = parser.add_argument_group("a new finished run (--from)")
    new.add_argument("--from", dest="run_dir", type=Path, help="the run's working directory")
    new.add_argument("--command", help="the command that ran it, e.g. 'snakemake --cores 4 all'")
    new.add_argument("--machine", help="e.g. '2-core AMD EPYC with AVX-512 (`avx512_bf16`)'")
    new.add_argument("--wall-time", help="e.g. '22 min 10 s'")
    new.add_argument("--load", help="what else ran on the machine, e.g. 'nothing else ran'")
    new.add_argument("--idle", action="store_true", help="the machine ran nothing else")
    new.add_argument("--jobs", type=int, help="the number of jobs the run did")
    new.add_argument("--result-cache", default="empty", help="the result cache at the start")
    new.add_argument("--settings", default="default settings", help="the config it ran")
    options = parser.parse_args(argv)
    if options.run_dir is not None:
        needed = ["command", "machine", "wall_time", "load", "jobs"]
        if missing := [name for name in needed if getattr(options, name) is None]:
            parser.error(f"--from needs --{', --'.join(n.replace('_', '-') for n in missing)}")
        take_run(options.root, options.run_dir, options)
    if options.check:
        stale = stale_pages(options.root)
        for page in stale:
            print(
                f"{page}: the latest run differs from docs/latest-run/: run make docs-results",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for page in render(options.root):
        print(f"{page}: the latest run rendered from {SNAPSHOT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
