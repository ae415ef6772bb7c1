"""The test images one model gets right and another wrong, tiled for a figure: which images,
their captions, and the grid (torchvision's make_grid). Apart from per_class.py because
torchvision takes 3.4 s to import (torch alone 1.7 s, measured here): only the examples job
pays for it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.utils import make_grid

from fashion_mnist_study.analysis.per_class import (
    CLASS_NAMES,
    always_right_where_other_always_wrong,
    most_common,
)


@dataclass(frozen=True)
class ImageGroup:
    """Tiled test images (image_grid) with a title and a caption under each tile."""

    title: str
    grid: np.ndarray
    captions: list[str]
    columns: int
    tile: int  # pixels per image side
    padding: int


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
