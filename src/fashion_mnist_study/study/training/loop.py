"""The training loop of one job, in one screen: shuffle, train an epoch, validate, log,
checkpoint; then test once and write the outputs (run.py), resuming where a killed job
stopped."""

from __future__ import annotations

import os
import sys
import time
from functools import partial

import numpy as np
import torch
from tqdm import tqdm

from fashion_mnist_study.core.progress import epoch_finished, training_started
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.training.checkpoints import CHECKPOINT_INTERVAL_S
from fashion_mnist_study.study.training.run import TrainOutputs, finish_run, start_run
from fashion_mnist_study.study.training.step import epoch_generator, evaluate, train_one_epoch


def train_model(
    settings: ModelSettings,
    splits: dict[str, np.ndarray],
    seed: int,
    device_setting: str,
    outputs: TrainOutputs,
    checkpoint_path: str | os.PathLike[str],
    threads: int = 1,
    progress_bar: bool = True,
    checkpoint_interval: float = CHECKPOINT_INTERVAL_S,
) -> dict:
    """Train, validate every epoch, test once; resume from `checkpoint_path` if it matches.

    A checkpoint is written after an epoch once `checkpoint_interval` seconds of training
    passed since the last one (0: after every epoch)."""
    run = start_run(
        settings,
        splits,
        seed,
        device_setting,
        outputs.metrics,
        checkpoint_path,
        threads,
        checkpoint_interval,
    )
    model, step, rows, n = run.model, run.step, run.rows, len(run.step.x)
    training_started(settings.name, seed, settings.epochs, len(rows), run.device.type, run.threads)
    started = time.perf_counter()
    for epoch in range(len(rows) + 1, settings.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=epoch_generator(seed, epoch)).to(run.device)
        progress = partial(
            tqdm,
            desc=f"{settings.name} epoch {epoch}",
            disable=not progress_bar,
            file=sys.stderr,
            mininterval=5,
        )
        train_loss, train_acc = train_one_epoch(step, order, progress)
        val_loss, val_acc = evaluate(model, run.x_val, run.y_val, settings.precision)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "seconds": round(time.perf_counter() - epoch_start, 3),
        }
        rows.append(row)
        run.checkpoints.add(row, run.state, last=epoch == settings.epochs)
        print(f"{settings.name} seed {seed} epoch {epoch}: {row}", file=sys.stderr)
        epoch_finished(settings.name, seed, settings.epochs, rows)  # a line on the console
    run.checkpoints.flush()
    return finish_run(run, splits, outputs, training_seconds=time.perf_counter() - started)
