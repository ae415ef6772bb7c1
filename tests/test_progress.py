"""The console: a line per training epoch with the time left, a line per training restored
from the cache, the outcome at the end of a run, and the switch that keeps them all quiet."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, needs_debian_data, smoke_run_output, snakemake
from helpers import MODELS

from fashion_mnist_study.core.progress import (
    QUIET_VARIABLE,
    RestoredTrainings,
    duration,
    epoch_line,
    is_quiet,
    load_rows,
    outcome_lines,
    per_epoch,
    recent_pace,
    say,
)
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.training.loop import train_model
from fashion_mnist_study.study.training.run import TrainOutputs

EPOCH_LINE = re.compile(
    r"(?P<model>[\w.-]+) seed (?P<seed>\d+): epoch (?P<epoch>\d+)/(?P<epochs>\d+), "
    r"train (?P<train>\d+\.\d)%, val (?P<val>\d+\.\d)%, (?P<pace>[\d.]+ s/epoch), "
    r"(?:~(?P<left>\d+ (?:s|min)|\d+ h \d\d min) left|training done)"
)
START_LINE = re.compile(
    r"[\w.-]+ seed \d+: (?:training \d+ epochs|resuming after epoch \d+/\d+) "
    r"on \w+, \d+ threads?"
)


def tiny_run(folder: Path, epochs: int = 3) -> list[dict[str, str]]:
    """A short training on synthetic images; its metrics rows."""
    rng = np.random.default_rng(0)
    splits = {}
    for name, n in (("train", 128), ("val", 32), ("test", 32)):
        splits[f"x_{name}"] = rng.integers(0, 255, (n, 28, 28)).astype(np.uint8)
        splits[f"y_{name}"] = rng.integers(0, 10, n).astype(np.uint8)
    settings = ModelSettings(
        name="mlp",
        architecture="mlp",
        epochs=epochs,
        batch_size=32,
        learning_rate=0.001,
        weight_decay=0.0,
        dropout=0.0,
        hidden_sizes=(64,),
    )
    outputs = TrainOutputs(
        metrics=folder / "m.csv",
        result=folder / "r.json",
        weights=folder / "w.pt",
        predictions=folder / "p.npz",
    )
    train_model(
        settings,
        splits,
        seed=5,
        device_setting="cpu",
        outputs=outputs,
        checkpoint_path=folder / "c.ckpt",
        progress_bar=False,
    )
    return load_rows(folder / "m.csv")


def test_each_finished_epoch_prints_one_line_with_accuracies_pace_and_time_left(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(QUIET_VARIABLE, raising=False)
    rows = tiny_run(tmp_path)
    # Without a job's log, stderr holds the log's lines too.
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("mlp seed 5:")]
    assert lines[0] == "mlp seed 5: training 3 epochs on cpu, 1 thread"
    epochs = [EPOCH_LINE.fullmatch(line) for line in lines[1:]]
    assert all(epochs) and len(epochs) == 3, lines
    for i, (found, row) in enumerate(zip(epochs, rows, strict=True)):
        pace = recent_pace([float(r["seconds"]) for r in rows[: i + 1]])
        assert (found["epoch"], found["epochs"]) == (str(i + 1), "3")
        assert found["train"] == f"{100 * float(row['train_acc']):.1f}"
        assert found["val"] == f"{100 * float(row['val_acc']):.1f}"
        assert found["pace"] == per_epoch(pace)
        left = 3 - (i + 1)
        assert found["left"] == (duration(pace * left) if left else None)
    assert lines[-1].endswith("training done")


def test_the_time_left_follows_the_last_epochs_pace() -> None:
    rows = [
        {"epoch": e, "train_acc": 0.9, "val_acc": 0.8, "seconds": s}
        for e, s in enumerate([60, 30, 30, 30], start=1)
    ]
    assert epoch_line("cnn", 0, 30, rows[:1]) == (
        "cnn seed 0: epoch 1/30, train 90.0%, val 80.0%, 60 s/epoch, ~29 min left"
    )
    assert epoch_line("cnn", 0, 30, rows).endswith(", 30 s/epoch, ~13 min left")
    assert [duration(s) for s in (0.2, 44.6, 59.6, 3599, 3930)] == [
        "1 s",
        "45 s",
        "1 min",
        "1 h 00 min",
        "1 h 06 min",
    ]
    assert [per_epoch(s) for s in (0.456, 4.94, 9.96, 35.2)] == [
        "0.46 s/epoch",
        "4.9 s/epoch",
        "10 s/epoch",
        "35 s/epoch",
    ]


def test_a_console_line_is_one_write_of_one_whole_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUIET_VARIABLE, raising=False)
    read, write = os.pipe()
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(data) or real_write(fd, data))
    say("cnn seed 0: epoch 1/2\nwith a line break", fd=write)
    os.close(write)
    assert writes == [b"cnn seed 0: epoch 1/2 with a line break\n"]
    assert os.read(read, 1000) == writes[0]
    os.close(read)


def test_the_quiet_switch_silences_the_training_lines(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not is_quiet({}) and not is_quiet({QUIET_VARIABLE: "0"})
    assert is_quiet({QUIET_VARIABLE: "1"}) and is_quiet({QUIET_VARIABLE: "yes"})
    monkeypatch.setenv(QUIET_VARIABLE, "1")
    tiny_run(tmp_path, epochs=1)
    assert "mlp seed 5:" not in capfd.readouterr().err


def test_restored_trainings_are_told_once_and_stored_ones_not() -> None:
    told: list[str] = []
    watch = RestoredTrainings(
        ["results/metrics/{model}/seed{seed}.csv", "results/metrics/{model}/seed{seed}.json"],
        told.append,
    )
    for message in (
        "Moving output file results/metrics/cnn/seed0.csv to cache.",  # trained now, stored
        "Symlinking output file results/metrics/cnn/seed0.csv from cache.",
        "Symlinking output file results/metrics/mlp-x/seed2.csv from cache.",  # restored
        "Symlinking output file results/metrics/mlp-x/seed2.json from cache.",
        "Symlinking output file resources/fashion_mnist/raw/a.gz from cache.",
    ):
        assert watch.filter(logging.LogRecord("snakemake", 20, "", 0, message, None, None))
    assert told == ["mlp-x seed 2: restored from the result cache, not trained again"]


def test_the_outcome_names_the_report_and_each_models_accuracy_with_its_interval(
    tmp_path: Path,
) -> None:
    accuracy = tmp_path / "test_accuracy.csv"
    accuracy.write_text(
        "model,seeds,n_seeds,test_acc_mean,test_acc_std,test_acc_min,test_acc_max,"
        "test_acc_low,test_acc_high,test_acc_seeds_low,test_acc_seeds_high,params,epochs\n"
        "cnn,0,1,0.9181,0.0,0.9181,0.9181,0.91256,0.92331,,,2003754,30\n"
        "mlp,0 1 2,3,0.8923,0.0012,0.891,0.8935,0.8861,0.8982,0.889,0.8953,2004618,30\n"
    )
    report = tmp_path / "report.html"
    assert outcome_lines(report, accuracy) == [
        f"Study report: {report}",
        "Test accuracy:",
        "  cnn  91.81% (95% CI 91.26 to 92.33%)",
        "  mlp  89.23% ± 0.12 over 3 seeds (95% CI 88.61 to 89.82%)",
    ]
    assert outcome_lines(report, tmp_path / "none.csv") == [f"Study report: {report}"]


def console_lines(output: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    return [found for line in output.splitlines() if (found := pattern.fullmatch(line))]


@needs_debian_data
@pytest.mark.slow
def test_smoke_run_shows_each_epoch_and_ends_with_the_report_and_accuracies(
    finished_smoke_run: Path,
) -> None:
    output = smoke_run_output(finished_smoke_run)
    # Every line a training printed is whole: trainings side by side never mix mid-line.
    printed = [line for line in output.splitlines() if re.match(r"(cnn|mlp)\S* seed", line)]
    assert all(EPOCH_LINE.fullmatch(line) or START_LINE.fullmatch(line) for line in printed)
    epochs = console_lines(output, EPOCH_LINE)
    assert sorted((m["model"], m["epoch"]) for m in epochs) == [
        (model, epoch) for model in MODELS for epoch in ("1", "2")
    ]
    lines = output.splitlines()
    end = max(i for i, line in enumerate(lines) if "steps (100%) done" in line)
    table = load_rows(finished_smoke_run / "results/tables/test_accuracy.csv")
    report = finished_smoke_run / "results/report/report.html"
    width = max(len(row["model"]) for row in table)
    assert lines[end + 1 : end + 6] == [
        f"Study report: {report.resolve()}",
        "Test accuracy:",
        *(
            f"  {row['model']:<{width}}  {100 * float(row['test_acc_mean']):.2f}% (95% CI "
            f"{100 * float(row['test_acc_low']):.2f} to {100 * float(row['test_acc_high']):.2f}%)"
            for row in table
        ),
    ]
    assert lines[end + 6].startswith("Complete log")


@needs_debian_data
@pytest.mark.slow
def test_restored_training_says_so_and_quiet_keeps_to_snakemakes_lines(
    smoke_run_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = smoke_run_copy
    target = "results/metrics/mlp/seed0.json"
    restored = "mlp seed 0: restored from the result cache, not trained again"

    def restore() -> str:
        for folder in ("metrics", "models", "predictions"):
            for path in (workdir / "results" / folder / "mlp").iterdir():
                path.unlink()
        return snakemake(workdir, target, "--cores", "1", *TINY).stderr

    monkeypatch.delenv(QUIET_VARIABLE, raising=False)
    assert restore().count(restored) == 1
    monkeypatch.setenv(QUIET_VARIABLE, "1")
    quiet = restore()
    assert "Symlinking output file results/metrics/mlp/seed0.json from cache." in quiet
    assert restored not in quiet
    (workdir / "results/report/report.html").unlink()
    ended = snakemake(workdir, "all", "--cores", "1", *TINY).stderr
    assert "(Rule: report)" in ended and "Study report:" not in ended
