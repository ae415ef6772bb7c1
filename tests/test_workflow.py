"""End-to-end: the workflow on the real data (the suite's tiny settings), and exact staleness."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import (
    SMOKE_CORES,
    SMOKE_CPUS,
    TINY,
    TINY_CONFIG,
    job_stats,
    needs_debian_data,
    planned_jobs,
    replace_file,
    smoke_run_output,
    snakemake,
)
from helpers import FILTER_JOBS, MODELS, write_config
from scipy.stats import binomtest

from fashion_mnist_study.core.hardware import usable_cpus
from fashion_mnist_study.core.progress import load_rows

pytestmark = [needs_debian_data, pytest.mark.slow]


# The CPUs the finished smoke run's workflow saw (conftest pins it to at most two).
SMOKE_RUN_CPUS = min(SMOKE_CORES, len(SMOKE_CPUS) if SMOKE_CPUS else usable_cpus())
# Images per split in the suite's runs.
SUBSET = yaml.safe_load(TINY_CONFIG.read_text())["data"]["subset"]
N_TEST = SUBSET["test"]


# The jobs that retraining every model plans again (the suite's runs have one seed).
TRAINING_JOBS = {
    "train": 3,
    "test_accuracy": 1,
    "plot_curves": 3,
    "plot_overfitting": 1,
    "plot_mlp_vs_cnn": 1,
    "per_class_accuracy": 1,
    "plot_confusion": 3,
    "plot_cnn_vs_mlp_examples": 1,
    "comparisons": 1,
    "plot_comparisons": 1,
    "experiments_table": 1,
    "plot_experiments": 1,
    "plot_experiment_settings": 1,
    "report": 1,
}


def write_override(workdir: Path, override: dict) -> tuple[str, ...]:
    """Config arguments: the suite's settings plus `override` on top (merged key by key)."""
    return (*TINY, write_config(workdir, override))


def test_smoke_run_writes_every_output_of_the_contract(finished_smoke_run: Path) -> None:
    run = finished_smoke_run
    with np.load(run / "resources/fashion_mnist/splits.npz") as splits:
        assert {key: splits[key].shape[0] for key in splits.files} == {
            f"{xy}_{split}": SUBSET[split] for split in SUBSET for xy in ("x", "y")
        }
        assert all(splits[key].dtype == np.uint8 for key in splits.files)
    for impl in ("numpy", "torch"):
        with np.load(run / f"results/filters/{impl}.npz") as out:
            assert out["conv"].shape == (4, 3, 26, 26)
            assert out["pooled"].shape == (4, 3, 13, 13)
            assert out["conv"].dtype == np.float32

    errors = load_rows(run / "results/tables/filter_errors.csv")
    assert len(errors) == 2 * 4 * 3
    assert {row["output"] for row in errors} == {"conv", "conv_pool"}
    assert max(float(row["euclidean_distance"]) for row in errors) < 1e-4

    params = load_rows(run / "results/tables/params.csv")
    totals = {row["model"]: int(row["params"]) for row in params if row["layer"] == "total"}
    assert totals["cnn"] == totals["cnn_regularized"] == 2_003_754
    assert abs(totals["mlp"] / totals["cnn"] - 1) < 0.005

    for model in MODELS:
        rows = load_rows(run / f"results/metrics/{model}/seed0.csv")
        assert [int(row["epoch"]) for row in rows] == [1, 2]
        result = json.loads((run / f"results/metrics/{model}/seed0.json").read_text())
        assert result["n_test"] == N_TEST and 0.1 < result["test_acc"] <= 1.0
        assert (run / f"results/models/{model}/seed0.pt").stat().st_size > 1_000_000
        assert (run / f"results/plots/{model}_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert not (run / "results/checkpoints").exists() or not any(
        (run / "results/checkpoints").rglob("*.ckpt")
    )

    accuracy = load_rows(run / "results/tables/test_accuracy.csv")
    assert {row["model"] for row in accuracy} == set(MODELS)
    report = (run / "results/report/report.html").read_text()
    for heading in ("1.1", "1.2", "2.1", "2.2", "3 MLP vs CNN"):
        assert heading in report
    cnn_acc = json.loads((run / "results/metrics/cnn/seed0.json").read_text())["test_acc"]
    assert f"{100 * cnn_acc:.2f}%" in report
    assert 'src="data:image/png;base64,' in report and 'src="http' not in report


def test_smoke_run_writes_the_per_class_analysis_and_each_jobs_cost(
    finished_smoke_run: Path,
) -> None:
    run = finished_smoke_run
    table = load_rows(run / "results/tables/per_class_accuracy.csv")
    assert list(table[0]) == ["model", "class", "n_seeds", "accuracy_mean", "accuracy_std"]
    assert [(row["model"], row["class"]) for row in table][:2] == [
        ("cnn", "T-shirt/top"),
        ("cnn", "Trouser"),
    ]
    assert len(table) == 3 * 10
    for model in MODELS:
        with np.load(run / f"results/predictions/{model}/seed0.npz") as saved:
            predicted, labels = saved["predicted"], saved["label"]
        result = json.loads((run / f"results/metrics/{model}/seed0.json").read_text())
        assert len(predicted) == N_TEST and np.mean(predicted == labels) == result["test_acc"]
        rows = [row for row in table if row["model"] == model]
        per_class_right = sum(
            float(row["accuracy_mean"]) * np.sum(labels == i) for i, row in enumerate(rows)
        )
        assert per_class_right == pytest.approx(result["test_acc"] * N_TEST)
        assert (run / f"results/plots/confusion_{model}.png").read_bytes()[:4] == b"\x89PNG"
        assert result["peak_rss_mb"] > 100 and result["seconds"] > 0
    assert (run / "results/plots/cnn_vs_mlp_examples.png").read_bytes()[:4] == b"\x89PNG"
    assert float(read_csv_tab(run / "benchmarks/plot_curves/cnn.tsv")["s"]) > 0
    report = (run / "results/report/report.md").read_text()
    assert re.search(r"the CNN's lead over the MLP is largest on \S", report)
    assert "| train model=cnn seed=0 | " in report
    for rule in {path.parent.name for path in (run / "benchmarks").rglob("*.tsv")} - {"report"}:
        assert f"\n| {rule} " in report, f"no cost of {rule} in the report"


def test_smoke_run_compares_every_pair_with_evidence(finished_smoke_run: Path) -> None:
    run = finished_smoke_run
    table = load_rows(run / "results/tables/comparisons.csv")
    assert [(row["model_a"], row["model_b"]) for row in table] == [
        ("cnn_regularized", "cnn"),
        ("cnn", "mlp"),
    ]
    right = {}
    for model in MODELS:
        with np.load(run / f"results/predictions/{model}/seed0.npz") as saved:
            right[model] = saved["predicted"] == saved["label"]
    for row in table:
        first, second = right[row["model_a"]], right[row["model_b"]]
        b, c = int(np.sum(first & ~second)), int(np.sum(~first & second))
        assert (int(row["b"]), int(row["c"])) == (b, c)
        assert float(row["p_value"]) == pytest.approx(binomtest(b, b + c).pvalue)
        assert float(row["difference"]) == pytest.approx((b - c) / N_TEST)
        assert row["test"] == "McNemar exact"
    classes = load_rows(run / "results/tables/class_comparisons.csv")
    assert [row["class"] for row in classes][:2] == ["T-shirt/top", "Trouser"]
    assert sum(int(row["n_test"]) for row in classes) == N_TEST
    assert (run / "results/plots/comparisons.png").read_bytes()[:4] == b"\x89PNG"
    report = (run / "results/report/report.md").read_text()
    assert f"McNemar's exact test on the {N_TEST:,} test images" in report
    assert "## Every comparison, with its evidence" in report


def read_csv_tab(path: Path) -> dict[str, str]:
    with open(path, newline="") as handle:
        return next(csv.DictReader(handle, delimiter="\t"))


def training_jobs(output: str) -> list[tuple[str, int, int]]:
    """(event, jobid, training CPUs) for each training job's start and finish, in the order
    Snakemake printed them."""
    events, rule, jobid = [], None, None
    for line in output.splitlines():
        line = line.strip()
        if line.endswith("rule train:"):
            rule = "train"
        elif line.endswith(":") and "rule " in line:
            rule = None
        elif rule == "train" and line.startswith("jobid:"):
            jobid = int(line.split()[1])
        elif rule == "train" and line.startswith("resources:"):
            cpus = re.search(r"training_cpus=(\d+)", line)
            assert cpus, f"training job {jobid} declares no training_cpus: {line}"
            events.append(("start", jobid, int(cpus.group(1))))
            rule = None
        elif line.startswith("Finished jobid:") and "(Rule: train)" in line:
            events.append(("finish", int(line.split()[2]), 0))
    return events


def test_trainings_share_the_cpus_without_oversubscribing(finished_smoke_run: Path) -> None:
    output = smoke_run_output(finished_smoke_run)
    cpus = SMOKE_RUN_CPUS
    # Both local limits are in force (at least one GPU slot, also on a machine without GPU).
    provided = next(line for line in output.splitlines() if "Provided resources" in line)
    assert f'Resource("training_cpus", {cpus})' in provided and 'Resource("gpu", ' in provided
    events = training_jobs(output)
    granted, running, most = {}, 0, 0
    for event, jobid, threads in events:
        if event == "start":
            granted[jobid] = threads
            running += threads
            most = max(most, running)
        else:
            running -= granted[jobid]
    assert len(granted) == 3 and running == 0
    assert most <= cpus  # never more training threads than CPUs, though --cores 4 was given
    assert set(granted.values()) == {max(1, cpus // 3)}
    # Each job used the threads it was granted (its log names them).
    for log in (finished_smoke_run / "logs" / "train").glob("*/seed*.log"):
        assert f"with {max(1, cpus // 3)} threads" in log.read_text()


def test_the_cnns_start_before_the_mlp(finished_smoke_run: Path) -> None:
    if SMOKE_RUN_CPUS >= 3:  # only where the smoke run could not be pinned to two CPUs
        pytest.skip("with 3 CPUs or more, all three trainings start at once")
    output = smoke_run_output(finished_smoke_run)
    started = re.findall(r"log: logs/train/(\w+)/seed0\.log", output)
    assert started[-1] == "mlp" and sorted(started[:2]) == ["cnn", "cnn_regularized"]


def test_second_dry_run_after_a_full_run_has_nothing_to_do(smoke_run_copy: Path) -> None:
    assert planned_jobs(smoke_run_copy, "all", extra=TINY) == {}


def test_editing_a_filter_reruns_filters_and_table_not_the_download(smoke_run_copy: Path) -> None:
    config = yaml.safe_load((smoke_run_copy / "config/config.yaml").read_text())
    kernels = config["filters"]["kernels"]
    kernels[0]["weights"] = [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    extra = write_override(smoke_run_copy, {"filters": {"kernels": kernels}})
    assert planned_jobs(smoke_run_copy, "all", extra=extra) == FILTER_JOBS


def test_editing_mlp_learning_rate_replans_only_mlp(smoke_run_copy: Path) -> None:
    smoke = yaml.safe_load((smoke_run_copy / "config/smoke.yaml").read_text())
    mlp = {**smoke["models"]["mlp"], "learning_rate": 0.002}
    extra = write_override(smoke_run_copy, {"models": {"mlp": mlp}})
    dry_run = snakemake(smoke_run_copy, "all", "--dry-run", *extra).stdout
    assert job_stats(dry_run) == {
        "train": 1,
        "test_accuracy": 1,
        "plot_curves": 1,
        "plot_mlp_vs_cnn": 1,
        "per_class_accuracy": 1,
        "plot_confusion": 1,
        "plot_cnn_vs_mlp_examples": 1,
        "comparisons": 1,
        "plot_comparisons": 1,
        "experiments_table": 1,
        "plot_experiments": 1,
        "plot_experiment_settings": 1,
        "report": 1,
    }
    assert "wildcards: model=mlp, seed=0" in dry_run
    assert "model=cnn," not in dry_run and "model=cnn_regularized" not in dry_run


def test_listing_models_and_settings_in_another_order_reruns_nothing(
    smoke_run_copy: Path,
) -> None:
    """The config files themselves in another order, models and their settings reversed.
    Snakemake merges a file's keys into the order of those merged before (the command line's
    files first, then config/config.yaml): a reordered override on top would reorder nothing."""
    for name in ("smoke.yaml", "config.yaml"):
        path = smoke_run_copy / "config" / name
        config = yaml.safe_load(path.read_text())
        models = config["models"]
        config["models"] = {
            model: dict(reversed(models[model].items())) for model in reversed(models)
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert planned_jobs(smoke_run_copy, "all", extra=TINY) == {}


def test_editing_a_plot_setting_replans_only_plots_and_report(smoke_run_copy: Path) -> None:
    extra = write_override(smoke_run_copy, {"plots": {"dpi": 61}})
    assert planned_jobs(smoke_run_copy, "all", extra=extra) == {
        "plot_filters": 1,
        "plot_curves": 3,
        "plot_overfitting": 1,
        "plot_mlp_vs_cnn": 1,
        "plot_confusion": 3,
        "plot_cnn_vs_mlp_examples": 1,
        "plot_comparisons": 1,
        "plot_experiments": 1,
        "plot_experiment_settings": 1,
        "report": 1,
    }


def test_editing_the_evidence_level_reruns_only_the_verdicts(smoke_run_copy: Path) -> None:
    extra = write_override(smoke_run_copy, {"evidence": {"alpha": 0.01}})
    assert planned_jobs(smoke_run_copy, "all", extra=extra) == {
        "comparisons": 1,
        "plot_comparisons": 1,
        "experiments_table": 1,
        "report": 1,
    }


def test_editing_the_filters_module_reruns_the_rules_that_run_it(smoke_run_copy: Path) -> None:
    module = smoke_run_copy / "src/fashion_mnist_study/study/filters.py"
    module.write_text(module.read_text() + "\n# edited\n")
    assert planned_jobs(smoke_run_copy, "all", extra=TINY) == FILTER_JOBS


def test_editing_the_models_module_retrains_every_model(smoke_run_copy: Path) -> None:
    module = smoke_run_copy / "src/fashion_mnist_study/study/models.py"
    module.write_text(module.read_text() + "\n# edited\n")
    assert planned_jobs(smoke_run_copy, "all", extra=TINY) == {**TRAINING_JOBS, "param_table": 1}


def test_refetched_raw_data_replans_everything_downstream(smoke_run_copy: Path) -> None:
    """New bytes in a raw file (here: the same labels recompressed) rerun all that reads it."""
    raw = smoke_run_copy / "resources/fashion_mnist/raw/train-labels-idx1-ubyte.gz"
    replace_file(raw, gzip.compress(gzip.decompress(raw.read_bytes()), compresslevel=1))
    assert planned_jobs(smoke_run_copy, "all", extra=TINY) == {
        "prepare_splits": 1,
        **FILTER_JOBS,
        **TRAINING_JOBS,
    }


def test_mlp_vs_cnn_plot_builds_only_what_it_needs(smoke_run_copy: Path, tmp_path: Path) -> None:
    fresh = smoke_run_copy
    for folder in ("results", "resources", ".snakemake"):
        subprocess.run(["rm", "-rf", str(fresh / folder)], check=True)
    assert planned_jobs(fresh, "results/plots/mlp_vs_cnn.png", extra=TINY) == {
        "download_fashion_mnist": 1,
        "prepare_splits": 1,
        "train": 2,
        "plot_mlp_vs_cnn": 1,
    }


def test_interrupted_run_completes_on_plain_rerun_and_resumes_training(
    smoke_run_copy: Path,
) -> None:
    """Kill Snakemake mid-training; after --unlock the same command finishes and resumes."""
    workdir = smoke_run_copy
    epochs = 8  # small batches on the suite's few images: each epoch takes a fraction of a second
    extra = write_override(
        workdir,
        {
            "models": {
                "cnn": {
                    "epochs": epochs,
                    "batch_size": 16,
                    "learning_rate": 0.0005,
                    "weight_decay": 0.0,
                    "dropout": 0.0,
                }
            }
        },
    )
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "results/metrics/cnn/seed0.json",
        "--cores",
        "2",
        *extra,
    ]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    metrics = workdir / "results/metrics/cnn/seed0.csv"
    checkpoint = workdir / "results/checkpoints/cnn/seed0.ckpt"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists():  # at least one epoch finished
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert len(load_rows(metrics)) < epochs, "killed too late to show a resume"

    # A hard kill leaves Snakemake's lock behind (Ctrl-C does not): --unlock, then the same
    # command again; the default profile's rerun-incomplete reruns the cut-off job.
    snakemake(workdir, "--unlock", *extra)
    snakemake(workdir, "results/metrics/cnn/seed0.json", "--cores", "2", *extra)
    log = (workdir / "logs/train/cnn/seed0.log").read_text()
    assert "resuming after epoch" in log
    assert [int(r["epoch"]) for r in load_rows(metrics)] == list(range(1, epochs + 1))
    assert planned_jobs(workdir, "results/metrics/cnn/seed0.json", extra=extra) == {}


def test_the_report_names_the_models_of_the_experiments_table(sweeps: dict[int, Path]) -> None:
    """The report rule reads results/tables/experiments.csv: every model of a sweep appears in
    both forms of the report, in its leaderboard (their sentences are test_report's)."""
    swept = [f"cnn_regularized-dropout-{d}" for d in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)]
    for name in ("report.md", "report.html"):
        report = (sweeps[10] / "results/report" / name).read_text()
        leaderboard = report.split("ranked by test accuracy")[1]
        assert all(re.search(rf"\b{re.escape(model)}\b", leaderboard) for model in swept), name


def test_snakemake_report_has_every_figure_with_its_caption(snakemake_report_run: Path) -> None:
    report = (snakemake_report_run / "results/report/snakemake_report.html").read_text()
    for figure in (
        "filters.png",
        "mlp_vs_cnn.png",
        "overfitting.png",
        "cnn_curves.png",
        "confusion_mlp.png",
        "cnn_vs_mlp_examples.png",
        "report.html",
    ):
        assert figure in report
    assert "Euclidean distance and largest absolute difference" in report  # a caption's text
