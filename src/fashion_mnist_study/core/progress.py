"""What the console shows while the study runs and when it ends: a line when a training starts
and one per finished epoch (with the time left), a line per training restored from the result
cache, and the outcome (the report's path, each model's test accuracy).

Light on purpose: the Snakefile imports it at parse time and every training job at its start
(no torch, no pandas). Console lines change no output, so, like joblog, no rule lists this
module among its code inputs: rewording a line retrains nothing.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import select
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from fashion_mnist_study.core.formats import interval
from fashion_mnist_study.core.paths import pattern_regex

# Set to 1 (or true, yes) to keep the console to Snakemake's own lines (scripts, CI).
QUIET_VARIABLE = "FASHION_MNIST_STUDY_QUIET"
# POSIX guarantees at least 512; Linux has 4096.
PIPE_BUF = getattr(select, "PIPE_BUF", 512)
# Seconds per epoch and the time left come from the mean of the last few epochs, so they
# follow a change of pace (a training beside it finished, and its thread went free).
ETA_WINDOW = 3


def is_quiet(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether QUIET_VARIABLE asks for Snakemake's lines alone (unset, empty, 0, false, no:
    not quiet)."""
    return environ.get(QUIET_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def say(line: str, fd: int | None = None) -> None:
    """Write `line` to the console (the process's own stderr, where Snakemake's lines go, even
    when sys.stderr is a job's log) in one write of one whole line, unless quiet.

    Why one write: trainings side by side share the terminal (or a pipe, or a SLURM log); a
    write of fewer than PIPE_BUF bytes reaches a pipe whole, so lines never mix mid-line.
    A console that is gone (a closed pipe) never stops a training.
    """
    if is_quiet():
        return
    data = line.replace("\n", " ").encode()[: PIPE_BUF - 1] + b"\n"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.write(sys.__stderr__.fileno() if fd is None else fd, data)


def duration(seconds: float) -> str:
    """`45 s`, `12 min`, `1 h 05 min`: as precise as a wait needs."""
    if seconds < 59.5:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def per_epoch(seconds: float) -> str:
    """`35 s/epoch`, `4.9 s/epoch`, `0.46 s/epoch`: two significant digits below ten."""
    return f"{seconds:.0f} s/epoch" if seconds >= 9.95 else f"{seconds:.2g} s/epoch"


def recent_pace(epoch_seconds: Sequence[float], window: int = ETA_WINDOW) -> float:
    """Mean seconds of the last `window` epochs."""
    recent = list(epoch_seconds)[-window:]
    return sum(recent) / len(recent)


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def start_line(model: str, seed: int, epochs: int, done: int, device: str, threads: int) -> str:
    where = f"on {device}, {threads} thread{'' if threads == 1 else 's'}"
    if done:
        return f"{model} seed {seed}: resuming after epoch {done}/{epochs} {where}"
    return f"{model} seed {seed}: training {epochs} epochs {where}"


def epoch_line(model: str, seed: int, epochs: int, rows: Sequence[Mapping]) -> str:
    """`cnn seed 0: epoch 9/30, train 95.1%, val 92.7%, 35 s/epoch, ~12 min left` for the
    last of `rows` (metrics rows: epoch, train_acc, val_acc, seconds)."""
    row = rows[-1]
    epoch = int(row["epoch"])
    pace = recent_pace([float(r["seconds"]) for r in rows])
    left = epochs - epoch
    tail = f"~{duration(pace * left)} left" if left else "training done"
    return (
        f"{model} seed {seed}: epoch {epoch}/{epochs}, train {percent(float(row['train_acc']))}, "
        f"val {percent(float(row['val_acc']))}, {per_epoch(pace)}, {tail}"
    )


def training_started(
    model: str, seed: int, epochs: int, done: int, device: str, threads: int
) -> None:
    say(start_line(model, seed, epochs, done, device, threads))


def epoch_finished(model: str, seed: int, epochs: int, rows: Sequence[Mapping]) -> None:
    say(epoch_line(model, seed, epochs, rows))


def restored_line(model: str, seed: int) -> str:
    return f"{model} seed {seed}: restored from the result cache, not trained again"


# Snakemake's own records of each file it takes from its between-workflow cache, and of each
# file it stores there (and then links back, with the same record as a restore).
FROM_CACHE = re.compile(r"(?:Symlinking|Copying) output file (?P<path>\S+) from cache")
TO_CACHE = re.compile(r"Moving output file (?P<path>\S+) to cache")


class RestoredTrainings(logging.Filter):
    """On Snakemake's logger: one line per training restored from the result cache, before
    Snakemake's own line per restored file (it passes every record on unchanged).

    Why here: a restored job runs no script, and Snakemake has no hook per job; its records
    of the files it links from the cache are the one place that sees the restore, in the
    process that does it (the local Snakemake, or a cluster job's, whose log is SLURM's). A
    training that just ran stores its files first ("Moving ... to cache"), then links them
    back: that is no restore.
    """

    def __init__(self, patterns: Iterable[str], emit: Callable[[str], None]) -> None:
        super().__init__()
        self.patterns = [pattern_regex(pattern) for pattern in patterns]
        self.emit = emit
        self.seen: set[tuple[str, int]] = set()  # announced, or stored by this run

    def training(self, path: str) -> tuple[str, int] | None:
        """(model, seed) of the training that `path` is an output of, or None."""
        for pattern in self.patterns:
            found = pattern.fullmatch(path)
            if found:
                return found["model"], int(found["seed"])
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)  # Snakemake logs formatted text
        stored, restored = TO_CACHE.match(message), FROM_CACHE.match(message)
        key = self.training((stored or restored)["path"]) if stored or restored else None
        if key and key not in self.seen:
            self.seen.add(key)
            if restored:
                self.emit(restored_line(*key))
        return True


def announce_restored_trainings(
    logger: logging.Logger, patterns: Iterable[str], emit: Callable[[str], None]
) -> None:
    """Watch `logger` for trainings restored from the cache, unless quiet."""
    if not is_quiet() and not any(isinstance(f, RestoredTrainings) for f in logger.filters):
        logger.addFilter(RestoredTrainings(patterns, emit))


def load_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def accuracy_text(row: Mapping[str, str]) -> str:
    """A row of test_accuracy.csv as `91.81% (95% CI 91.26 to 92.33%)`, with several seeds
    `89.23% ± 0.12 over 3 seeds (95% CI ...)`: the Wilson interval over the test images."""
    text = f"{100 * float(row['test_acc_mean']):.2f}%"
    if int(row["n_seeds"]) > 1:
        text += f" ± {100 * float(row['test_acc_std']):.2f} over {row['n_seeds']} seeds"
    return f"{text} (95% CI {interval(float(row['test_acc_low']), float(row['test_acc_high']))}%)"


def outcome_lines(report: Path, test_accuracy: Path) -> list[str]:
    """The end of a run that made the report: where it is and each model's test accuracy with
    its interval."""
    lines = [f"Study report: {report}"]
    if not test_accuracy.exists():
        return lines
    rows = load_rows(test_accuracy)
    width = max((len(row["model"]) for row in rows), default=0)
    lines.append("Test accuracy:")
    lines += [f"  {row['model']:<{width}}  {accuracy_text(row)}" for row in rows]
    return lines
