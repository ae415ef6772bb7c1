"""Where models differ, class by class: accuracy per class, confusion matrices, and the test
images one model gets right and another wrong, from each training job's predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torchvision.datasets import FashionMNIST
from torchvision.utils import make_grid

from fashion_mnist_study.analysis.results import mean_and_spread
from fashion_mnist_study.study.predictions import stack_predictions

CLASS_NAMES: tuple[str, ...] = tuple(FashionMNIST.classes)
PER_CLASS_COLUMNS = ["model", "class", "n_seeds", "accuracy_mean", "accuracy_std"]


@dataclass(frozen=True)
class ImageGroup:
    """Tiled test images (image_grid) with a title and a caption under each tile."""

    title: str
    grid: np.ndarray
    captions: list[str]
    columns: int
    tile: int  # pixels per image side
    padding: int


def class_accuracy(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per seed and class, the share of that class's test images predicted right."""
    right = predicted == labels
    return np.stack([right[:, labels == c].mean(axis=1) for c in range(len(CLASS_NAMES))], axis=1)


def per_class_accuracy(predictions: dict[str, list[str]]) -> pd.DataFrame:
    """PER_CLASS_COLUMNS: per model (in the given order) and class, accuracy over seeds."""
    long = pd.concat(
        pd.DataFrame(
            {
                "model": model,
                "class": np.tile(CLASS_NAMES, len(accuracy)),
                "accuracy": accuracy.ravel(),
            }
        )
        for model, paths in predictions.items()
        for accuracy in [class_accuracy(*stack_predictions(paths))]
    )
    groups = long.groupby(["model", "class"], sort=False)["accuracy"]
    summary = mean_and_spread(groups).add_prefix("accuracy_")
    summary.insert(0, "n_seeds", groups.size())
    return summary.reset_index()[PER_CLASS_COLUMNS]


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix over all seeds: row = true class, column = predicted;
    each row sums to 1 (a class without test images stays 0)."""
    n = len(CLASS_NAMES)
    counts = np.zeros((n, n))
    for run in predicted:
        np.add.at(counts, (labels, run), 1)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def always_right_where_other_always_wrong(
    right: np.ndarray, wrong: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Test-image indices that the first model gets right in every seed and the second gets
    wrong in every seed, in test-set order."""
    first_right = (right == labels).all(axis=0)
    second_wrong = (wrong != labels).all(axis=0)
    return np.flatnonzero(first_right & second_wrong)


def most_common(predicted: np.ndarray) -> np.ndarray:
    """Per image, the class predicted most often over seeds (the lowest class on a tie)."""
    counts = np.apply_along_axis(np.bincount, 0, predicted, minlength=len(CLASS_NAMES))
    return counts.argmax(axis=0)


def image_grid(images: np.ndarray, columns: int, padding: int) -> np.ndarray:
    """uint8 (N, H, W) images tiled row by row into one grayscale image in [0, 1] on white,
    `padding` pixels around each tile (torchvision's make_grid): tile (row, column) starts at
    padding + (H + padding, W + padding) * (row, column)."""
    tensor = torch.from_numpy(images).unsqueeze(1).float().div(255)
    grid = make_grid(tensor, nrow=columns, padding=padding, pad_value=1.0)
    return grid[0].numpy()


def disagreement_groups(
    images: np.ndarray,
    predictions: dict[str, np.ndarray],
    labels: np.ndarray,
    shown: tuple[int, int] = (16, 8),
    columns: int = 8,
) -> list[ImageGroup]:
    """Test images the first of two models (name -> predictions per seed) gets right in every
    seed and the second wrong in every seed, then the other way; the first `shown` of each in
    test-set order, each captioned with its true class and the wrong model's prediction (the
    most frequent over seeds). Groups without such images are left out."""
    (first, first_predicted), (second, second_predicted) = predictions.items()
    padding, tile = 14, images.shape[1]  # room under each image for a two-line caption
    groups = []
    for (right, right_predicted), (wrong, wrong_predicted), count in zip(
        [(first, first_predicted), (second, second_predicted)],
        [(second, second_predicted), (first, first_predicted)],
        shown,
        strict=True,
    ):
        found = always_right_where_other_always_wrong(right_predicted, wrong_predicted, labels)
        chosen = found[:count]
        if len(chosen) == 0:
            continue
        mistaken = most_common(wrong_predicted[:, chosen])
        groups.append(
            ImageGroup(
                title=f"{right} right, {wrong} wrong in every seed: the first {len(chosen)} "
                f"of {len(found)} such test images",
                grid=image_grid(images[chosen], columns, padding),
                captions=[
                    f"{CLASS_NAMES[label]}\n{wrong}: {CLASS_NAMES[guess]}"
                    for label, guess in zip(labels[chosen], mistaken, strict=True)
                ],
                columns=columns,
                tile=tile,
                padding=padding,
            )
        )
    return groups
