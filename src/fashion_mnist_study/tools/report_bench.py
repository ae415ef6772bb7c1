"""The report at a sweep's scale without training a sweep: synthetic training outputs (files,
not trainings) for the coursework's three models and a sweep of cnn_regularized in a fresh copy
of the workflow; Snakemake then builds the report from them, figures and tables included, and
this says how long that took, how large the page is and how many figures its flow shows.

    python -m fashion_mnist_study.tools.report_bench [--models 3 10 51] [--workdir DIR]
        [--cores N] [--source CHECKOUT]

The numbers in the files are made up to look like a study (accuracies that depend on the
swept settings, curves that rise), so every table and figure has something to show.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fashion_mnist_study.core.checkout import REPO, copy_workflow
from fashion_mnist_study.core.checksums import seal_of, sha256_of
from fashion_mnist_study.core.config import model_sections
from fashion_mnist_study.core.hardware import usable_cpus
from fashion_mnist_study.core.paths import RAW_DATA, SPLITS, STUDY_REPORT, TRAINING_OUTPUTS
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.data import save_arrays
from fashion_mnist_study.study.predictions import save_predictions

EPOCHS = 10
N_TEST = 10_000
CLASSES = 10
SPLITS_BENCHMARK = "benchmarks/prepare_splits/prepare_splits.tsv"
# The sweeps of cnn_regularized that make, with the coursework's three models, each size.
SWEEPS: dict[int, dict[str, list]] = {
    3: {},
    10: {"dropout": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8]},
    51: {
        "dropout": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        "learning_rate": [0.0003, 0.001, 0.003],
        "batch_size": [32, 128],
    },
}
PARAMS = {"cnn": 2_003_754, "mlp": 2_004_618}


def bench_config(n_models: int) -> dict:
    """The config, on top of config/config.yaml, whose models are `n_models` (a key of
    SWEEPS): the coursework's three with EPOCHS epochs and the sweep."""
    overlay: dict = {
        "models": {model: {"epochs": EPOCHS} for model in ("cnn", "cnn_regularized", "mlp")}
    }
    if SWEEPS[n_models]:
        overlay["sweeps"] = [{"base": "cnn_regularized", "settings": SWEEPS[n_models]}]
    return overlay


def settings_of(workdir: Path, overlay: dict) -> dict[str, dict]:
    """Every model's section as the workflow expands it, sweeps included."""
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    config["models"] = {
        name: {**section, **overlay["models"].get(name, {})}
        for name, section in config["models"].items()
    }
    config["sweeps"] = overlay.get("sweeps", [])
    return model_sections(config)


def made_up_accuracy(section: dict, rng: np.random.Generator) -> float:
    """A test accuracy that depends on the settings as a sweep's might."""
    accuracy = 0.915 if section["architecture"] == "cnn" else 0.892
    accuracy -= 0.05 * (float(section["dropout"]) - 0.45) ** 2
    accuracy -= 0.006 * abs(math.log10(float(section["learning_rate"]) / 0.001))
    accuracy -= 0.002 * abs(math.log2(int(section["batch_size"]) / 64))
    return float(np.clip(accuracy + rng.normal(0, 0.002), 0.5, 0.99))


def write_data(workdir: Path, when: float) -> np.ndarray:
    """The download's files (placeholders) and the splits (random images, balanced test
    labels), dated `when`, newer than the workflow's code and older than any training output,
    so that Snakemake takes them as made; the test labels."""
    for path in RAW_DATA.values():
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(b"synthetic"))
        os.utime(target, (when, when))
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(CLASSES, dtype=np.uint8), N_TEST // CLASSES)
    splits = {
        "x_train": rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
        "y_train": labels[:64],
        "x_val": rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
        "y_val": labels[:64],
        "x_test": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "y_test": labels,
    }
    save_arrays(workdir / SPLITS, splits)
    benchmark = workdir / SPLITS_BENCHMARK  # an output of the rule as much as the splits
    benchmark.parent.mkdir(parents=True, exist_ok=True)
    benchmark.write_text("s\th:m:s\tmax_rss\n1.0\t0:00:01\t100\n")
    for path in (workdir / SPLITS, benchmark):
        os.utime(path, (when + 1, when + 1))
    return labels


def metrics_rows(final_val: float, rng: np.random.Generator) -> list[dict]:
    """EPOCHS epochs of a training that rises to `final_val` and overfits a little."""
    rows = []
    for epoch in range(1, EPOCHS + 1):
        progress = 1 - math.exp(-epoch / 3)
        val = final_val - 0.08 * (1 - progress) + rng.normal(0, 0.001)
        train = val + 0.02 * epoch / EPOCHS
        rows.append(
            {
                "epoch": epoch,
                "train_loss": round(0.6 / epoch + 0.1, 6),
                "train_acc": round(train, 6),
                "val_loss": round(0.5 / epoch + 0.2, 6),
                "val_acc": round(val, 6),
                "seconds": 30.0,
            }
        )
    return rows


def write_training(
    workdir: Path, name: str, section: dict, accuracy: float, difficulty: np.ndarray, when: float
) -> None:
    """One model's training outputs, seed 0, as its training job would write them: right on
    the `accuracy` share of the test images that are easiest (`difficulty`, with a little of
    the model's own noise), its result sealed and vouching for the others."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    labels = np.tile(np.arange(CLASSES, dtype=np.uint8), N_TEST // CLASSES)
    order = np.argsort(difficulty + rng.normal(0, 0.15, N_TEST))
    right = np.zeros(N_TEST, dtype=bool)
    right[order[: round(accuracy * N_TEST)]] = True
    predicted = np.where(right, labels, (labels + 1) % CLASSES).astype(np.uint8)
    paths = {
        key: workdir / pattern.format(model=name, seed=0)
        for key, pattern in TRAINING_OUTPUTS.items()
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(metrics_rows(accuracy - 0.004, rng)).to_csv(paths["metrics"], index=False)
    save_predictions(paths["predictions"], predicted, labels)
    paths["weights"].write_bytes(b"synthetic: no weights, nothing loads them\n")
    settings = ModelSettings.from_section(name, section)
    result = {
        "model": name,
        "seed": 0,
        "settings": settings.as_dict(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "test_loss": 0.3,
        "test_acc": float(right.mean()),
        "n_test": N_TEST,
        "params": PARAMS[section["architecture"]],
        "epochs": EPOCHS,
        "device": "cpu",
        "processor": "synthetic",
        "threads": 1,
        "seconds": 30.0 * EPOCHS,
        "seconds_this_run": 30.0 * EPOCHS,
        "seconds_before_first_step": {"start": 2.0, "device": 0.0, "data": 0.5},
        "peak_rss_mb": 800.0,
        "peak_gpu_mb": None,
        "sha256": {key: sha256_of(paths[key]) for key in ("metrics", "predictions", "weights")},
    }
    result["seal"] = seal_of(result)
    paths["result"].write_text(json.dumps(result, indent=2) + "\n")
    for path in paths.values():
        os.utime(path, (when, when))


def write_synthetic_run(workdir: Path, n_models: int) -> Path:
    """In the workflow copy `workdir`: the data and every model's training outputs for
    `n_models` (a key of SWEEPS), and the config that names those models; that config."""
    overlay = bench_config(n_models)
    config = workdir / "config/bench.yaml"
    config.write_text(yaml.safe_dump(overlay, sort_keys=False))
    # In time order, as if the workflow had made them: its code, the data, the trainings; all
    # in the past, leaving room for what comes after (a job's outputs may not lie ahead).
    when = time.time() - 300
    for path in workdir.rglob("*"):
        os.utime(path, (when - 60, when - 60))
    write_data(workdir, when)
    difficulty = np.random.default_rng(1).random(N_TEST)
    rng = np.random.default_rng(2)
    for name, section in settings_of(workdir, overlay).items():
        write_training(workdir, name, section, made_up_accuracy(section, rng), difficulty, when + 2)
    return config


def figures_in_flow(page: str) -> tuple[int, int]:
    """How many figures the page shows in its flow (not folded in a <details>), and in all."""
    unfolded = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    return unfolded.count("<img "), page.count("<img ")


def build_report(workdir: Path, config: Path, cores: int) -> tuple[float, str]:
    """Snakemake builds the report in `workdir` from the outputs there: its seconds, and what
    it printed."""
    env = {**os.environ, "FASHION_MNIST_STUDY_QUIET": "1"}
    env["SNAKEMAKE_OUTPUT_CACHE"] = tempfile.mkdtemp(prefix="report-bench-cache-")
    command = [sys.executable, "-m", "snakemake", STUDY_REPORT, "--cores", str(cores)]
    command += ["--configfile", str(config)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"snakemake failed in {workdir}:\n{done.stdout[-3000:]}{done.stderr[-5000:]}"
        )
    return seconds, done.stdout + done.stderr


def bench(n_models: int, folder: Path, cores: int, source: Path = REPO) -> dict:
    workdir = copy_workflow(folder / f"models-{n_models}", source)
    config = write_synthetic_run(workdir, n_models)
    seconds, output = build_report(workdir, config, cores)
    page = (workdir / STUDY_REPORT).read_text()
    in_flow, figures = figures_in_flow(page)
    jobs = re.search(r"^total\s+(\d+)", output, re.MULTILINE)
    return {
        "models": n_models,
        "jobs": int(jobs.group(1)) if jobs else None,
        "seconds": round(seconds, 1),
        "page MB": round(len(page.encode()) / 1e6, 2),
        "figures in flow": in_flow,
        "figures": figures,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", type=int, default=list(SWEEPS), choices=SWEEPS)
    parser.add_argument("--workdir", type=Path, help="where the copies go (default: a new temp)")
    parser.add_argument("--cores", type=int, default=usable_cpus())
    parser.add_argument(
        "--source", type=Path, default=REPO, help="the checkout whose workflow builds the report"
    )
    args = parser.parse_args(argv)
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="report-bench-"))
    print(f"workflow {args.source}, copies in {folder}, {args.cores} cores")
    rows = [bench(n, folder, args.cores, args.source) for n in args.models]
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
