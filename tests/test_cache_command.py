"""`fashion-mnist-study cache list|verify|prune|du`: entries made here in Snakemake's naming
(and, at the end, by real smoke runs), old entries, damage, the lock, read-only entries."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, SMOKE, TINY, copy_workflow, snakemake
from helpers import MODELS

from fashion_mnist_study.analysis.results import check_outputs
from fashion_mnist_study.cache.entries import RULE_OUTPUTS, find_entries, listing
from fashion_mnist_study.cache.keys import planned_workflow, used_cache_files
from fashion_mnist_study.cache.store import protect_entries
from fashion_mnist_study.core.checksums import CorruptOutput, seal_of, sha256_of
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.predictions import save_predictions
from fashion_mnist_study.tools.cli import main

CNN = ModelSettings("cnn", "cnn", 2, 64, 0.001, 0.0, 0.0)


def key_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_entry(
    folder: Path,
    settings: ModelSettings,
    *,
    seed: int = 0,
    test_acc: float = 0.8,
    days_ago: float = 0.0,
    old: bool = False,
    key: str = "",
) -> str:
    """A training entry as Snakemake stores it (<key>_<output><ext>); `old`: as written
    before results held settings, trained_at and the checksums of predictions and weights."""
    key = key or key_of(f"{settings}{seed}{old}")
    path = {name: folder / f"{key}_{name}{ext}" for name, ext in RULE_OUTPUTS["train"].items()}
    path["metrics"].write_text("epoch,train_loss,train_acc,val_loss,val_acc,seconds\n1,1,1,1,1,1\n")
    save_predictions(path["predictions"], np.arange(100) % 10, np.arange(100) % 10)
    torch.save({"settings": settings.as_dict(), "seed": seed, "state_dict": {}}, path["weights"])
    trained = datetime.now(UTC) - timedelta(days=days_ago)
    result = {
        "model": settings.name,
        "seed": seed,
        "test_acc": test_acc,
        "epochs": 2,
        "device": "cpu",
        "seconds": 12.5,
    }
    if old:
        result["sha256"] = {"metrics": sha256_of(path["metrics"])}
    else:
        result["settings"] = settings.as_dict()
        result["trained_at"] = trained.isoformat(timespec="seconds")
        names = ("metrics", "predictions", "weights")
        result["sha256"] = {name: sha256_of(path[name]) for name in names}
    result["seal"] = seal_of(result)
    path["result"].write_text(json.dumps(result))
    if old:  # its time: the files' (Snakemake keeps the time a job wrote them)
        for file in path.values():
            os.utime(file, (trained.timestamp(), trained.timestamp()))
    return key


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(folder))
    monkeypatch.chdir(tmp_path)  # a working directory without a workflow or its locks
    return folder


def test_list_shows_every_training_newest_first_with_the_settings_that_differ(
    cache: Path,
) -> None:
    make_entry(cache, CNN, days_ago=2)
    used = make_entry(cache, ModelSettings("cnn_d", "cnn", 2, 64, 0.001, 0.0, 0.5), days_ago=1)
    make_entry(cache, ModelSettings("mlp", "mlp", 2, 64, 0.001, 0.0, 0.0, (32, 16)), seed=1)
    table = listing(find_entries(cache), used={used})
    assert list(table["model"]) == ["mlp", "cnn_d", "cnn"]
    assert list(table.columns[:4]) == ["model", "architecture", "dropout", "hidden_sizes"]
    assert "learning_rate" not in table.columns  # the same for every entry
    assert list(table["hidden_sizes"]) == ["32x16", "", ""]
    assert list(table["used"]) == ["no", "yes", "no"]
    assert list(table["seed"]) == [1, 0, 0]


def test_entries_from_before_settings_in_the_result_are_listed_not_a_crash(cache: Path) -> None:
    make_entry(cache, CNN, old=True, days_ago=3)
    broken = make_entry(cache, ModelSettings("mlp", "mlp", 2, 64, 0.001, 0.0, 0.0), old=True)
    flip_byte(cache / f"{broken}_weights.pt")
    (cache / f"{broken}_result.json").unlink()  # and its result gone too
    table = listing(find_entries(cache), used=None)
    assert len(table) == 2
    old = table.set_index("key").loc[key_of(f"{CNN}0True")[:12]]
    assert (old["model"], old["architecture"], old["test_acc"]) == ("cnn", "cnn", 0.8)
    assert old["trained"][:10] == f"{datetime.now() - timedelta(days=3):%Y-%m-%d}"  # mtime
    assert set(table["used"]) == {""}


def test_verify_names_each_damaged_entry_and_why(cache: Path, capsys) -> None:
    intact = make_entry(cache, CNN)
    predictions = make_entry(cache, CNN, seed=1)
    flip_byte(cache / f"{predictions}_predictions.npz")
    weights = make_entry(cache, CNN, seed=2)
    flip_byte(cache / f"{weights}_weights.pt")
    edited = make_entry(cache, CNN, seed=3)
    result = cache / f"{edited}_result.json"
    result.write_text(result.read_text().replace("0.8", "0.9"))
    missing = make_entry(cache, CNN, seed=4)
    (cache / f"{missing}_metrics.csv").unlink()
    old = make_entry(cache, CNN, seed=5, old=True)
    flip_byte(cache / f"{old}_predictions.npz")

    assert main(["cache", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"{predictions}_predictions.npz differs from its checksum" in out
    assert f"{weights}_weights.pt differs from its checksum" in out
    assert f"{edited}_result.json does not match its seal" in out
    assert f"missing {missing}_metrics.csv" in out
    assert f"{old}_predictions.npz: it is not a readable archive" in out
    assert intact[:12] not in out
    assert "6 entries checked" in out and "5 damaged" in out


def test_verify_delete_removes_each_damaged_entry_whole(cache: Path, capsys) -> None:
    intact = make_entry(cache, CNN)
    damaged = make_entry(cache, CNN, seed=1)
    flip_byte(cache / f"{damaged}_weights.pt")
    protect_entries(cache)
    assert main(["cache", "verify", "--delete"]) == 0
    assert {path.name[:64] for path in cache.iterdir()} == {intact}
    assert len(list(cache.iterdir())) == 4
    assert main(["cache", "verify"]) == 0


def link_output(workdir: Path, output: str, target: Path) -> Path:
    """An output as Snakemake restores it from the cache: a link to the entry's file."""
    link = workdir / output
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link


def test_verify_delete_removes_the_outputs_that_link_to_the_damaged_entries(
    cache: Path, tmp_path: Path, capsys
) -> None:
    """Left dangling, such a link stops the next run that needs it, whatever its targets."""
    intact = make_entry(cache, CNN)
    damaged = make_entry(cache, CNN, seed=1)
    flip_byte(cache / f"{damaged}_weights.pt")
    kept = link_output(tmp_path, "results/models/cnn/seed0.pt", cache / f"{intact}_weights.pt")
    gone = link_output(tmp_path, "results/models/cnn/seed1.pt", cache / f"{damaged}_weights.pt")
    assert main(["cache", "verify", "--delete"]) == 0
    assert not gone.is_symlink() and kept.resolve().is_file()
    assert "and 1 outputs in the workflow's folder that linked to them" in capsys.readouterr().out


def test_verify_delete_waits_for_a_snakemake_run_holding_the_lock(
    cache: Path, tmp_path: Path, capsys
) -> None:
    damaged = make_entry(cache, CNN)
    flip_byte(cache / f"{damaged}_weights.pt")
    (tmp_path / ".snakemake/locks").mkdir(parents=True)
    (tmp_path / ".snakemake/locks/0.output.lock").write_text("results/metrics/cnn/seed0.csv\n")
    assert main(["cache", "verify", "--delete"]) == 1
    assert "holds its lock" in capsys.readouterr().err
    assert len(list(cache.iterdir())) == 4


def test_stored_entries_become_read_only_and_other_files_stay(cache: Path) -> None:
    key = make_entry(cache, CNN)
    for path in cache.iterdir():
        path.chmod(0o666)  # as Snakemake stores them
    (cache / "notes.txt").write_text("mine")
    (cache / "notes.txt").chmod(0o644)
    assert len(protect_entries(cache)) == 4
    assert {(p.stat().st_mode & 0o777) for p in cache.glob(f"{key}_*")} == {0o444}
    assert (cache / "notes.txt").stat().st_mode & 0o777 == 0o644
    assert protect_entries(cache) == []


def test_older_than_must_be_a_number_of_days(cache: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["cache", "prune", "--older-than", "-1"])
    assert "--older-than: -1 days: give 0 or more" in capsys.readouterr().err


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("plan") / "workflow")


def test_the_cache_files_are_the_cached_rules_named_outputs(workflow_copy: Path) -> None:
    with planned_workflow(workflow_copy, [workflow_copy / SMOKE[1]]) as workflow:
        for rule, outputs in RULE_OUTPUTS.items():
            declared = workflow.get_rule(rule).output
            assert {name: Path(path).suffix for name, path in declared._allitems()} == outputs
        names = used_cache_files(workflow)
    assert len(names) == 4 * 3 + 4  # three trainings and the download
    assert {name[64:] for name in names} == {
        f"_{name}{ext}" for outputs in RULE_OUTPUTS.values() for name, ext in outputs.items()
    }


def test_planning_leaves_this_process_as_it_was(workflow_copy: Path) -> None:
    """The Snakefile, parsed in this process, points PYTHONPATH and sys.path at the copy's
    src/: afterwards this process's later imports and subprocesses must not see it."""
    before = (os.environ.get("PYTHONPATH"), list(sys.path), os.getcwd())
    with planned_workflow(workflow_copy, [workflow_copy / SMOKE[1]]):
        assert str(workflow_copy / "src") in os.environ["PYTHONPATH"]
    assert (os.environ.get("PYTHONPATH"), list(sys.path), os.getcwd()) == before


def test_prune_removes_only_entries_the_config_does_not_use(
    workflow_copy: Path, cache: Path, capsys
) -> None:
    with planned_workflow(workflow_copy, [workflow_copy / SMOKE[1]]) as workflow:
        used = sorted({name[:64] for name in used_cache_files(workflow)})
    for key in used:
        make_entry(cache, CNN, key=key)
    old_unused = make_entry(cache, CNN, seed=7, days_ago=10)
    new_unused = make_entry(cache, CNN, seed=8)
    config = ["--configfile", str(workflow_copy / SMOKE[1]), "--directory", str(workflow_copy)]

    assert main(["cache", "prune", *config]) == 0
    out = capsys.readouterr().out
    assert "2 entries unused" in out and "would remove" in out
    assert len(list(cache.iterdir())) == 4 * 6

    assert main(["cache", "prune", "--older-than", "5", "--yes", *config]) == 0
    assert not list(cache.glob(f"{old_unused}_*")) and list(cache.glob(f"{new_unused}_*"))
    output = "results/metrics/cnn/seed8.json"  # a run of another config restored it
    link = link_output(workflow_copy, output, cache / f"{new_unused}_result.json")
    assert main(["cache", "prune", "--yes", *config]) == 0
    assert "removed 1 entries and 1 outputs in the workflow's folder" in capsys.readouterr().out
    assert not link.is_symlink()
    assert {path.name[:64] for path in cache.iterdir()} == set(used)
    assert not list((workflow_copy / ".snakemake/locks").glob("*.lock"))  # its lock released

    assert main(["cache", "du", *config]) == 0
    assert re.search(r"not in use +0\.0 MB  0 entries", capsys.readouterr().out)


def test_prune_never_touches_an_entry_while_a_run_holds_the_lock(
    workflow_copy: Path, cache: Path, capsys
) -> None:
    unused = make_entry(cache, CNN, seed=9)
    locks = workflow_copy / ".snakemake/locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.input.lock").write_text("resources/fashion_mnist/splits.npz\n")
    config = ["--configfile", str(workflow_copy / SMOKE[1]), "--directory", str(workflow_copy)]
    try:
        assert main(["cache", "prune", "--yes", *config]) == 1
    finally:
        shutil.rmtree(locks)
    assert "holds its lock" in capsys.readouterr().err
    assert len(list(cache.glob(f"{unused}_*"))) == 4


def test_the_console_command_runs_as_a_module(cache: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fashion_mnist_study", "cache", "list", "--no-used"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert f"no trainings in the result cache {cache}" in result.stdout


# End to end, the suite's settings: what a run stores is what the command computes and checks.


def run_command(workdir: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fashion_mnist_study", "cache", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "SNAKEMAKE_OUTPUT_CACHE": str(cache), "PYTHONPATH": str(REPO / "src")},
    )


@pytest.mark.slow
def test_a_run_stores_read_only_entries_the_config_is_seen_to_use(
    smoke_run_copy: Path, run_cache_copy: Path
) -> None:
    workdir, cache = smoke_run_copy, run_cache_copy
    assert {path.stat().st_mode & 0o777 for path in cache.iterdir()} == {0o444}
    listed = run_command(workdir, cache, "list", *TINY, "--csv", "list.csv")
    assert listed.returncode == 0, listed.stderr
    table = pd.read_csv(workdir / "list.csv")
    assert sorted(table["model"]) == sorted(MODELS)
    assert set(table["used"]) == {"yes"}
    assert list(table["dropout"]) == [
        0.0 if m != "cnn_regularized" else 0.7 for m in table["model"]
    ]
    assert run_command(workdir, cache, "verify").returncode == 0


@pytest.mark.slow
def test_damaged_predictions_and_weights_stop_the_run_until_verify_deletes_them(
    smoke_run_copy: Path, run_cache_copy: Path, tmp_path: Path
) -> None:
    study, cache = smoke_run_copy, run_cache_copy
    workdir = copy_workflow(tmp_path / "fresh")
    for output in ("results/predictions/cnn/seed0.npz", "results/models/mlp/seed0.pt"):
        flip_byte(cache / (study / output).resolve().name)
    # the jobs that read the predictions (comparisons) and the weights (test_accuracy)
    readers = ("results/tables/comparisons.csv", "results/tables/test_accuracy.csv")
    failed = snakemake(workdir, *readers, "--cores", "2", *TINY, cache=cache, check=False)
    assert failed.returncode != 0
    # Whichever job reads a damaged file first stops the run, naming it (the output names both
    # files anyway, as restored from the cache).
    named = "{}: its checksum differs from the one in results/metrics/{}/seed0.json"
    assert (
        named.format("results/predictions/cnn/seed0.npz", "cnn") in failed.output
        or named.format("results/models/mlp/seed0.pt", "mlp") in failed.output
    ), failed.output[-3000:]
    assert "fashion-mnist-study cache verify --delete" in failed.output

    verified = run_command(workdir, cache, "verify")
    assert verified.returncode == 1
    assert "_predictions.npz differs" in verified.stdout
    assert "_weights.pt differs" in verified.stdout
    assert run_command(workdir, cache, "verify", "--delete").returncode == 0
    rerun = snakemake(workdir, *readers, "--cores", "2", *TINY, cache=cache)
    trained = sorted(
        p.parent.name for p in (workdir / "logs/train").glob("*/seed0.log") if p.stat().st_size > 0
    )
    assert trained == ["cnn", "mlp"], rerun.output[-3000:]
    table = "results/tables/test_accuracy.csv"
    assert (workdir / table).read_text() == (study / table).read_text()


def test_damaged_weights_stop_the_job_that_checks_them(tmp_path: Path) -> None:
    key = make_entry(tmp_path, CNN)
    weights = tmp_path / "results/models/cnn/seed0.pt"
    result = tmp_path / "results/metrics/cnn/seed0.json"
    for path, name in ((weights, "weights.pt"), (result, "result.json")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(tmp_path / f"{key}_{name}")  # as restored from the cache
    check_outputs([str(weights)], "weights")
    flip_byte(tmp_path / f"{key}_weights.pt")
    with pytest.raises(CorruptOutput, match="models/cnn/seed0.pt: its checksum differs"):
        check_outputs([str(weights)], "weights")
