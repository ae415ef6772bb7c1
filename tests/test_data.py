"""Splits: validation drawn from the training images, test kept in order, saved as uint8."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from fashion_mnist_study.study.data import load_arrays, load_idx, make_splits, save_arrays

N_TRAIN, N_TEST = 50, 20


def synthetic(n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose every pixel holds the image's id, and labels equal to the same id."""
    ids = np.arange(offset, offset + n, dtype=np.uint8)
    return np.broadcast_to(ids[:, None, None], (n, 4, 3)).copy(), ids.copy()


TRAIN = synthetic(N_TRAIN)
TEST = synthetic(N_TEST, offset=200)


def splits(val_size: int = 10, split_seed: int = 0, subset=None) -> dict[str, np.ndarray]:
    return make_splits(*TRAIN, *TEST, val_size=val_size, split_seed=split_seed, subset=subset)


def ids(images: np.ndarray) -> list[int]:
    return [int(image[0, 0]) for image in images]


def test_split_sizes() -> None:
    s = splits(val_size=10)
    assert {key: len(value) for key, value in s.items()} == {
        "x_train": 40,
        "y_train": 40,
        "x_val": 10,
        "y_val": 10,
        "x_test": 20,
        "y_test": 20,
    }
    assert s["x_train"].shape[1:] == (4, 3)


def test_train_and_val_are_disjoint_and_drawn_from_the_training_images() -> None:
    s = splits(val_size=10)
    train, val = set(ids(s["x_train"])), set(ids(s["x_val"]))
    assert not train & val
    assert train | val == set(range(N_TRAIN))
    assert len(train) == 40 and len(val) == 10  # no image drawn twice


def test_labels_stay_with_their_images() -> None:
    s = splits(val_size=10)
    for name in ("train", "val", "test"):
        assert ids(s[f"x_{name}"]) == list(s[f"y_{name}"])


def test_validation_is_a_random_draw_not_the_first_images() -> None:
    s = splits(val_size=10)
    assert ids(s["x_val"]) != list(range(10))
    assert ids(s["x_val"]) != list(range(40, 50))


def test_same_seed_gives_the_same_splits() -> None:
    a, b = splits(split_seed=7), splits(split_seed=7)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_different_split_seed_gives_a_different_draw() -> None:
    a, b = splits(split_seed=0), splits(split_seed=1)
    assert set(ids(a["x_val"])) != set(ids(b["x_val"]))


def test_test_split_keeps_its_order() -> None:
    s = splits(split_seed=3)
    assert ids(s["x_test"]) == list(range(200, 220))
    np.testing.assert_array_equal(s["y_test"], TEST[1])


def test_subset_keeps_the_first_n_of_each_split() -> None:
    full = splits(val_size=10, split_seed=5)
    small = splits(val_size=10, split_seed=5, subset={"train": 7, "val": 3, "test": 4})
    for name, n in (("train", 7), ("val", 3), ("test", 4)):
        np.testing.assert_array_equal(small[f"x_{name}"], full[f"x_{name}"][:n])
        np.testing.assert_array_equal(small[f"y_{name}"], full[f"y_{name}"][:n])


def test_subset_of_exactly_a_whole_split_is_allowed() -> None:
    s = splits(val_size=10, subset={"train": 40, "val": 10, "test": 20})
    assert [len(s[f"x_{name}"]) for name in ("train", "val", "test")] == [40, 10, 20]


def test_splits_are_contiguous_uint8_even_from_wider_integer_input() -> None:
    images, labels = TRAIN[0].astype(np.int64), TRAIN[1].astype(np.int64)
    s = make_splits(images, labels, *TEST, val_size=5, split_seed=0)
    for value in s.values():
        assert value.dtype == np.uint8
        assert value.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("val_size", [0, -1, N_TRAIN, N_TRAIN + 1])
def test_val_size_out_of_range_is_rejected(val_size: int) -> None:
    with pytest.raises(ValueError, match=f"data.val_size must be between 1 and {N_TRAIN - 1}"):
        splits(val_size=val_size)


@pytest.mark.parametrize(
    ("subset", "message"),
    [
        ({"train": 41, "val": 1, "test": 1}, "subset.train = 41, but the train split holds 40"),
        ({"train": 1, "val": 11, "test": 1}, "subset.val = 11, but the val split holds 10"),
        ({"train": 1, "val": 1, "test": 21}, "subset.test = 21, but the test split holds 20"),
    ],
    ids=["train", "val", "test"],
)
def test_subset_larger_than_a_split_is_rejected(subset, message) -> None:
    with pytest.raises(ValueError, match=message):
        splits(val_size=10, subset=subset)


@pytest.mark.parametrize("compressed", [False, True])
def test_save_and_load_round_trip(tmp_path: Path, compressed: bool) -> None:
    original = splits(subset={"train": 5, "val": 4, "test": 3})
    path = tmp_path / "resources" / "splits.npz"
    save_arrays(path, original, compressed=compressed)
    loaded = load_arrays(path)
    assert loaded.keys() == original.keys()
    for key, value in original.items():
        assert loaded[key].dtype == np.uint8
        np.testing.assert_array_equal(loaded[key], value)
    assert sorted(p.name for p in path.parent.iterdir()) == ["splits.npz"]  # no temp file left


def test_compressed_arrays_are_deflated(tmp_path: Path) -> None:
    arrays = {"zeros": np.zeros(10_000, dtype=np.uint8)}
    save_arrays(tmp_path / "plain.npz", arrays)
    save_arrays(tmp_path / "deflated.npz", arrays, compressed=True)
    assert (tmp_path / "deflated.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size / 10


def test_an_archive_holding_pickles_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, objects=np.array([{"runs": "code"}], dtype=object))  # pickled by savez
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_arrays(path)


def write_gz(path: Path, content: bytes) -> Path:
    path.write_bytes(gzip.compress(content))
    return path


def idx_bytes(shape: tuple[int, ...], data: bytes) -> bytes:
    header = b"\x00\x00\x08" + bytes([len(shape)])
    return header + b"".join(n.to_bytes(4, "big") for n in shape) + data


def test_read_idx_reads_the_declared_shape(tmp_path: Path) -> None:
    data = bytes(range(24))
    array = load_idx(write_gz(tmp_path / "ok.gz", idx_bytes((2, 3, 4), data)))
    assert array.shape == (2, 3, 4)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array.ravel(), list(range(24)))


@pytest.mark.parametrize("n_bytes", [23, 25, 0], ids=["short", "long", "empty"])
def test_read_idx_rejects_a_header_that_does_not_match_the_size(tmp_path, n_bytes) -> None:
    path = write_gz(tmp_path / "bad.gz", idx_bytes((2, 3, 4), bytes(n_bytes)))
    with pytest.raises(ValueError, match=r"header declares shape \(2, 3, 4\) but holds"):
        load_idx(path)


@pytest.mark.parametrize(
    "content",
    [b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + bytes(12), b"PK\x03\x04", b""],
    ids=["float-type", "not-idx", "empty"],
)
def test_read_idx_rejects_files_that_are_not_unsigned_byte_idx(tmp_path, content) -> None:
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        load_idx(write_gz(tmp_path / "bad.gz", content))
