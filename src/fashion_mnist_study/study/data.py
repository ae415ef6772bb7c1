"""Fashion-MNIST arrays: read IDX files, draw the train/validation/test splits, and keep named
arrays in .npz files (the splits, the filters' outputs, a training's predictions)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fashion_mnist_study.core.atomic import atomic_path

SPLIT_NAMES = ("train", "val", "test")


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes into an array of its declared shape."""
    content = gzip.decompress(Path(path).read_bytes())
    if len(content) < 4 or content[0:2] != b"\x00\x00" or content[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = content[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(content, dtype=np.uint8, offset=header_end)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header declares shape {shape} but holds {data.size} bytes")
    return data.reshape(shape)


def make_splits(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    val_size: int,
    split_seed: int,
    subset: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Draw a validation split from the training images; optionally keep only a subset.

    The test split keeps its official order, so `filters.examples` index the official test set.
    """
    n_train = len(train_images)
    if not 0 < val_size < n_train:
        raise ValueError(f"data.val_size must be between 1 and {n_train - 1}, got {val_size}")
    order = np.random.default_rng(split_seed).permutation(n_train)
    val_idx, train_idx = order[:val_size], order[val_size:]
    splits = {
        "x_train": train_images[train_idx],
        "y_train": train_labels[train_idx],
        "x_val": train_images[val_idx],
        "y_val": train_labels[val_idx],
        "x_test": test_images,
        "y_test": test_labels,
    }
    if subset:
        for name in SPLIT_NAMES:
            available = len(splits[f"x_{name}"])
            keep = subset[name]
            if keep > available:
                raise ValueError(
                    f"data.subset.{name} = {keep}, but the {name} split holds {available} images"
                )
            splits[f"x_{name}"] = splits[f"x_{name}"][:keep]
            splits[f"y_{name}"] = splits[f"y_{name}"][:keep]
    return {key: np.ascontiguousarray(value, dtype=np.uint8) for key, value in splits.items()}


def save_arrays(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], compressed: bool = False
) -> None:
    """`arrays` as one .npz file under their names, whole or not at all; `compressed` deflates
    them."""
    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        save(handle, **arrays)


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Name -> array of a .npz file, in the order they were saved. Nothing in it is unpickled:
    loading runs no code."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
