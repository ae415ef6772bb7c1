"""Resumable training: per-epoch checkpoints that match the settings, seed, device and data
they were written for, and the metrics CSV, whose rows never run ahead of a checkpoint."""

from __future__ import annotations

import csv
import hashlib
import json
import pickle
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import torch

from fashion_mnist_study.core.atomic import atomic_path
from fashion_mnist_study.core.settings import ModelSettings

METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


# Seconds of training between checkpoints. A CPU epoch (tens of seconds) is checkpointed after
# each epoch; a GPU epoch takes half a second, and writing 24 MB of weights and Adam
# moments after each one would cost more than a tenth of the training, to save half a second
# of work at a kill.
CHECKPOINT_INTERVAL_S = 30.0


def fingerprint(settings: ModelSettings, seed: int, device: str, splits: dict) -> str:
    """What a checkpoint must match to be resumed: the settings, the seed, the device, the data."""
    digest = hashlib.sha256(json.dumps([settings.as_dict(), seed, device], sort_keys=True).encode())
    for key in sorted(splits):
        digest.update(key.encode() + splits[key].tobytes())
    return digest.hexdigest()


class Checkpoints:
    """Per-epoch state, saved at most every `interval` seconds, and the metrics rows it covers:
    a row reaches the metrics CSV only once a checkpoint holds its epoch, so every logged epoch
    is resumable. The fingerprint (a hash of the 55 MB of splits among others) is computed
    only when a checkpoint is read or written."""

    def __init__(
        self, path: Path, metrics_csv: Path, interval: float, fingerprint: Callable[[], str]
    ) -> None:
        self.path, self.metrics_csv, self.interval = path, metrics_csv, interval
        self._fingerprint = fingerprint
        self.pending: list[dict] = []
        self.saved_at = time.perf_counter()

    @cached_property
    def fingerprint(self) -> str:
        return self._fingerprint()

    def load(self, device: torch.device) -> dict | None:
        """The saved state if it matches these settings, seed, device and data, else None."""
        if not self.path.exists():
            return None
        try:  # weights_only: unpickling runs no code, whoever wrote the file
            state = torch.load(self.path, map_location=device, weights_only=True)
        except pickle.UnpicklingError as error:
            raise RuntimeError(
                f"{self.path} holds more than tensors and plain values, so this code did not "
                f"write it; it was not loaded. Delete it to train from the start. ({error})"
            ) from None
        return state if state["fingerprint"] == self.fingerprint else None

    def add(self, row: dict, state: Callable[[], dict], last: bool) -> None:
        """Record a finished epoch; checkpoint when `interval` seconds passed since the last
        one. The last epoch needs none: the job's outputs follow at once."""
        self.pending.append(row)
        if not last and time.perf_counter() - self.saved_at >= self.interval:
            save_checkpoint(self.path, {"fingerprint": self.fingerprint, **state()})
            self.flush()
            self.saved_at = time.perf_counter()

    def flush(self) -> None:
        for row in self.pending:
            append_metrics(self.metrics_csv, row)
        self.pending.clear()


# The metrics log is written row by row as epochs end, with the csv module: a training job
# imports no pandas (a quarter of a second of every job's start-up, measured here).
def write_metrics(path: Path, rows: list[dict]) -> None:
    # A new file, never one written through: when a result-cache entry lacks a file, Snakemake
    # leaves links into the cache for the outputs it found and then runs the job.
    path.unlink(missing_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def append_metrics(path: Path, row: dict) -> None:
    with open(path, "a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=METRIC_COLUMNS, lineterminator="\n").writerow(row)


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
