"""The result cache and experiments end to end (the suite's settings): switching back
restores, another clone reuses, a sweep trains each of its models, and a changed entry is
refused. The finished run's trainings are in the session's cache; each test adds to it only
entries of its own settings, or works on a private copy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, copy_workflow, needs_debian_data, snakemake
from helpers import MODELS, learned_result, write_config

from fashion_mnist_study.analysis.results import read_metrics

pytestmark = [needs_debian_data, pytest.mark.slow]


def run(
    workdir: Path, cache: Path, *targets: str, configs: tuple[str, ...] = (), check: bool = True
):
    return snakemake(workdir, *targets, "--cores", "2", *TINY, *configs, cache=cache, check=check)


def cached(workdir: Path, output: str) -> Path:
    """The cache file an output links to."""
    path = workdir / output
    assert path.is_symlink(), f"{output} does not come from the cache"
    return path.resolve()


@pytest.fixture
def cache() -> Path:
    """The session's result cache, which the finished run filled."""
    return Path(os.environ["SNAKEMAKE_OUTPUT_CACHE"])


@pytest.fixture
def first_run(finished_smoke_run: Path) -> Path:
    return finished_smoke_run


def test_each_model_and_seed_has_an_entry_of_its_own(first_run: Path) -> None:
    entries = {cached(first_run, f"results/metrics/{m}/seed0.csv") for m in MODELS}
    assert len(entries) == 3
    assert all(stat_mode(entry) == 0o444 for entry in entries)  # read-only: docs/cache.md


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_switching_back_restores_the_earlier_results_from_the_cache(
    first_run: Path, cache: Path, smoke_run_copy: Path
) -> None:
    workdir = smoke_run_copy
    before = (workdir / "results/metrics/cnn/seed0.csv").read_bytes()
    edit = write_config(workdir, {"models": {"cnn": {"learning_rate": 0.002}}})
    training = "results/metrics/cnn/seed0.json"  # the training is the claim, not what reads it
    edited = run(workdir, cache, training, configs=(edit,))
    assert "Moving output file results/metrics/cnn/seed0.csv to cache." in edited.output
    assert (workdir / "results/metrics/cnn/seed0.csv").read_bytes() != before
    training_log = workdir / "logs/train/cnn/seed0.log"
    assert "training cnn seed 0" in training_log.read_text()

    reverted = run(workdir, cache, training)
    assert "Symlinking output file results/metrics/cnn/seed0.csv from cache." in reverted.output
    assert training_log.read_text() == ""  # restored, not trained: Snakemake empties the log
    assert (workdir / "results/metrics/cnn/seed0.csv").read_bytes() == before
    for model in MODELS:
        for suffix in ("csv", "json"):
            path = f"results/metrics/{model}/seed0.{suffix}"
            assert (workdir / path).read_bytes() == (first_run / path).read_bytes()


def test_a_fresh_clone_sharing_the_cache_trains_nothing(
    first_run: Path, cache: Path, tmp_path: Path
) -> None:
    workdir = copy_workflow(tmp_path / "clone")
    result = run(workdir, cache, "results/tables/test_accuracy.csv")  # needs every training
    for model in MODELS:
        assert f"Symlinking output file results/metrics/{model}/seed0.csv from cache." in (
            result.output
        )
    assert "Moving output file" not in result.output  # nothing made here, so nothing stored
    logs = list((workdir / "logs").glob("train/*/*.log"))
    assert len(logs) == len(MODELS) and all(path.read_text() == "" for path in logs)
    assert (workdir / "results/tables/test_accuracy.csv").is_file()


def test_a_sweep_trains_each_model_it_makes_and_compares_them_all(
    cache: Path, smoke_run_copy: Path
) -> None:
    workdir = smoke_run_copy
    sweep = {"sweeps": [{"base": "cnn_regularized", "settings": {"dropout": [0.3, 0.5, 0.7]}}]}
    # The report's sentences on a sweep are test_report's; here, what the rules wire.
    shown = ("results/tables/experiments.csv", "results/plots/experiments.png")
    run(workdir, cache, *shown, configs=(write_config(workdir, sweep, "sweep.yaml"),))
    swept = [f"cnn_regularized-dropout-{value}" for value in (0.3, 0.5, 0.7)]
    table = pd.read_csv(workdir / "results/tables/experiments.csv")
    assert list(table["model"]) == [*MODELS, *swept]
    assert list(table["dropout"]) == [0.0, 0.7, 0.0, 0.3, 0.5, 0.7]
    assert set(table["verdict"]) <= {"baseline", "better", "worse", "not distinguishable"}
    compared = pd.read_csv(workdir / "results/tables/comparisons.csv")
    pairs = set(zip(compared["model_a"], compared["model_b"], strict=True))
    assert {(model, "cnn_regularized") for model in swept} <= pairs  # each against its base
    assert (workdir / "results/plots/experiments.png").read_bytes()[:4] == b"\x89PNG"
    # Same settings as cnn_regularized under another name: trained itself, an entry of its own.
    assert (workdir / "logs/train/cnn_regularized-dropout-0.7/seed0.log").stat().st_size > 0
    same = "results/metrics/cnn_regularized{}/seed0.csv"
    assert cached(workdir, same.format("")) != cached(workdir, same.format("-dropout-0.7"))


def test_another_seed_is_another_entry(cache: Path, smoke_run_copy: Path) -> None:
    workdir = smoke_run_copy
    seeds = write_config(workdir, {"training": {"seeds": [0, 1]}}, "seeds.yaml")
    target = "results/metrics/mlp/seed1.json"
    run(workdir, cache, target, configs=(seeds,))
    assert cached(workdir, target) != cached(workdir, "results/metrics/mlp/seed0.json")


def test_a_changed_cache_entry_is_refused_naming_the_file(
    first_run: Path, run_cache_copy: Path, tmp_path: Path
) -> None:
    private = run_cache_copy
    entry = private / cached(first_run, "results/metrics/cnn/seed0.csv").name
    os.chmod(entry, 0o644)
    entry.write_text(entry.read_text().replace("epoch", "epoch ", 1))
    workdir = copy_workflow(tmp_path / "workflow")
    curves = "results/plots/cnn_curves.png"  # its job reads the metrics CSV
    result = run(workdir, private, curves, check=False)
    assert result.returncode != 0
    assert "results/metrics/cnn/seed0.csv: its checksum differs from the one in" in result.output
    assert not (workdir / curves).exists()


def test_an_edited_result_in_the_cache_is_refused_naming_the_file(
    first_run: Path, run_cache_copy: Path, tmp_path: Path
) -> None:
    private = run_cache_copy
    entry = private / cached(first_run, "results/metrics/cnn/seed0.json").name
    result = json.loads(entry.read_text())
    entry.write_text(json.dumps({**result, "test_acc": result["test_acc"] + 0.01}, indent=2))
    workdir = copy_workflow(tmp_path / "workflow")
    table = "results/tables/test_accuracy.csv"
    refused = run(workdir, private, table, check=False)
    assert "Symlinking output file results/metrics/cnn/seed0.json from cache." in refused.output
    assert refused.returncode != 0
    assert (
        "results/metrics/cnn/seed0.json: its content does not match the seal its training job "
        "wrote" in refused.output
    )
    assert not (workdir / table).exists()


def test_a_cache_entry_missing_a_file_is_trained_again_and_made_whole(
    first_run: Path, run_cache_copy: Path, tmp_path: Path
) -> None:
    """Snakemake links the outputs it finds, then runs the job: nothing may be written through
    those links, and the entry must end whole (its files, not links to themselves)."""
    private = run_cache_copy
    outputs = [
        "results/metrics/mlp/seed0.csv",
        "results/metrics/mlp/seed0.json",
        "results/models/mlp/seed0.pt",
        "results/predictions/mlp/seed0.npz",
    ]
    (private / cached(first_run, outputs[2]).name).unlink()  # the entry's weights
    workdir = copy_workflow(tmp_path / "workflow")
    run(workdir, private, outputs[1])
    assert "training mlp seed 0" in (workdir / "logs/train/mlp/seed0.log").read_text()
    for output in outputs:
        entry = cached(workdir, output)
        assert entry.parent == private.resolve() and entry.is_file() and not entry.is_symlink()
    read_metrics(workdir / outputs[0])  # the entry's CSV is the one its result vouches for
    assert learned_result(workdir / outputs[1]) == learned_result(first_run / outputs[1])
