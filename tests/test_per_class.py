"""Per-class analysis: accuracy per class over seeds, confusion matrices, disagreements."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fashion_mnist_study.analysis import examples, per_class
from fashion_mnist_study.core.checksums import CorruptOutput, seal_of, sha256_of
from fashion_mnist_study.study import predictions
from fashion_mnist_study.study.predictions import save_predictions

LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9], dtype=np.uint8)


def write(
    tmp_path: Path,
    name: str,
    predicted: list[int],
    labels: np.ndarray = LABELS,
    checksum: bool = True,
) -> str:
    """Predictions where the contract puts them, with the sealed result that vouches for them
    (`checksum=False`: as an earlier version wrote it, without the predictions' checksum)."""
    path = tmp_path / "results/predictions" / name / "seed0.npz"
    path.parent.mkdir(parents=True)
    save_predictions(path, np.asarray(predicted, dtype=np.uint8), labels)
    result = {"model": name, "seed": 0, "sha256": {"predictions": sha256_of(path)}}
    if not checksum:
        result["sha256"] = {}
    result["seal"] = seal_of(result)
    (tmp_path / "results/metrics" / name).mkdir(parents=True)
    (tmp_path / "results/metrics" / name / "seed0.json").write_text(json.dumps(result))
    return str(path)


def flip_middle_byte(path: str) -> None:
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(path).write_bytes(bytes(data))


def test_damaged_predictions_are_refused_naming_the_file_and_the_repair(tmp_path: Path) -> None:
    path = write(tmp_path, "cnn", LABELS)
    flip_middle_byte(path)
    with pytest.raises(CorruptOutput, match="seed0.npz: its checksum differs") as refused:
        predictions.stack_predictions([path])
    assert "fashion-mnist-study cache verify --delete" in str(refused.value)


def test_damaged_predictions_without_a_checksum_are_refused_not_a_zlib_error(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "cnn", LABELS, checksum=False)
    flip_middle_byte(path)
    with pytest.raises(CorruptOutput, match="seed0.npz: .*not a readable archive"):
        predictions.stack_predictions([path])


def test_class_names_are_torchvisions_in_label_order() -> None:
    from torchvision.datasets import FashionMNIST

    assert tuple(FashionMNIST.classes) == per_class.CLASS_NAMES  # torchvision's, the reference
    assert per_class.CLASS_NAMES[0] == "T-shirt/top"
    assert per_class.CLASS_NAMES[6] == "Shirt"
    assert per_class.CLASS_NAMES[9] == "Ankle boot"
    assert len(per_class.CLASS_NAMES) == 10


def test_per_class_accuracy_is_mean_and_spread_over_seeds(tmp_path: Path) -> None:
    right = LABELS.copy()
    seed0 = right.copy()
    seed0[0] = 5  # one of the two T-shirts wrong in seed 0 only
    table = per_class.per_class_accuracy(
        {
            "cnn": [write(tmp_path, "a0", seed0), write(tmp_path, "a1", right)],
            "mlp": [write(tmp_path, "b0", np.zeros(20))],  # everything called a T-shirt
        }
    )
    assert list(table.columns) == per_class.PER_CLASS_COLUMNS
    assert list(table["model"]) == ["cnn"] * 10 + ["mlp"] * 10
    assert list(table["class"][:10]) == list(per_class.CLASS_NAMES)
    shirt = table[(table["model"] == "cnn") & (table["class"] == "T-shirt/top")].iloc[0]
    assert shirt["n_seeds"] == 2
    assert shirt["accuracy_mean"] == pytest.approx(0.75)
    assert shirt["accuracy_std"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    mlp = table[table["model"] == "mlp"].set_index("class")
    assert mlp.at["T-shirt/top", "accuracy_mean"] == 1.0
    assert mlp.at["Trouser", "accuracy_mean"] == 0.0
    assert (mlp["accuracy_std"] == 0.0).all()  # one seed: no spread, not NaN


def test_seeds_whose_labels_differ_are_refused(tmp_path: Path) -> None:
    other = write(tmp_path, "other", LABELS, labels=LABELS[::-1].copy())
    with pytest.raises(ValueError, match="test labels differ"):
        predictions.stack_predictions([write(tmp_path, "one", LABELS), other])


def test_confusion_rows_are_the_share_of_each_true_class() -> None:
    predicted = np.stack([LABELS.copy(), LABELS.copy()])
    predicted[0, 2] = 7  # a trouser called a sneaker in one of two seeds
    matrix = per_class.confusion_matrix(predicted, LABELS)
    assert matrix.shape == (10, 10)
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert matrix[1, 1] == pytest.approx(0.75) and matrix[1, 7] == pytest.approx(0.25)
    assert matrix[0, 0] == 1.0


def test_disagreements_hold_in_every_seed() -> None:
    labels = np.array([0, 1, 2, 3], dtype=np.uint8)
    cnn = np.array([[0, 1, 2, 0], [0, 1, 9, 0]])  # image 2 right in one seed only
    mlp = np.array([[5, 1, 5, 3], [5, 1, 5, 3]])
    found = per_class.always_right_where_other_always_wrong(cnn, mlp, labels)
    assert list(found) == [0]
    assert list(per_class.always_right_where_other_always_wrong(mlp, cnn, labels)) == [3]


def test_most_common_prediction_breaks_ties_by_the_lower_class() -> None:
    predicted = np.array([[3, 1], [3, 2], [4, 2]])
    assert list(per_class.most_common(predicted)) == [3, 2]
    assert list(per_class.most_common(np.array([[5], [4]]))) == [4]


def test_image_grid_puts_each_image_where_its_tile_starts() -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    grid = examples.image_grid(images, columns=3, padding=4)
    assert grid.shape == (4 + 2 * 32, 4 + 3 * 32)
    top, left = 4 + 32 * 1, 4 + 32 * 1  # image 4: second row, second column
    assert np.allclose(grid[top : top + 28, left : left + 28], images[4] / 255)
    assert grid[0, 0] == 1.0  # white padding


def test_disagreement_groups_caption_the_true_and_the_wrong_class() -> None:
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    labels = np.array([0, 6, 2, 3], dtype=np.uint8)
    cnn = np.array([[0, 6, 2, 0]])
    mlp = np.array([[9, 0, 2, 3]])
    first, second = examples.disagreement_groups(images, {"CNN": cnn, "MLP": mlp}, labels)
    assert first.title == "CNN right, MLP wrong in every seed: the first 2 of 2 such test images"
    assert first.captions == ["T-shirt/top\nMLP: Ankle boot", "Shirt\nMLP: T-shirt/top"]
    assert second.captions == ["Dress\nCNN: T-shirt/top"]
    assert examples.disagreement_groups(images, {"CNN": cnn, "MLP": cnn}, labels) == []
