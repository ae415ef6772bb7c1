"""A training job's test predictions: written by the job, read back (checked against the
checksum its result recorded) by every job that compares models on the test images."""

from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from fashion_mnist_study.core.checksums import check_output, corrupt
from fashion_mnist_study.core.paths import training_output
from fashion_mnist_study.study.data import load_arrays, save_arrays


def save_predictions(
    path: str | os.PathLike[str], predicted: np.ndarray, labels: np.ndarray
) -> None:
    """A model's predicted class for each test image, beside the true one (uint8, 20 kB)."""
    arrays = {"predicted": predicted.astype(np.uint8), "label": labels.astype(np.uint8)}
    save_arrays(path, arrays, compressed=True)


def load_predictions(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, label) arrays of one training job's test images."""
    arrays = load_arrays(path)
    return arrays["predicted"], arrays["label"]


def read_predictions(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, label) of one training job, refused unless they are the bytes it wrote."""
    check_output(path, "predictions", training_output(path, "result", given="predictions"))
    try:
        return load_predictions(path)
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, OSError, EOFError) as error:
        raise corrupt(path, f"it is not a readable predictions archive ({error!r})") from None


def stack_predictions(paths: list[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """One model's seeds, each checked: predicted classes (n_seeds, n_images) and the true
    ones (n_images)."""
    runs = [read_predictions(path) for path in paths]
    labels = runs[0][1]
    for path, (_, other) in zip(paths, runs, strict=True):
        if not np.array_equal(other, labels):
            raise ValueError(f"{path}: its test labels differ from those of {paths[0]}")
    return np.stack([predicted for predicted, _ in runs]), labels
