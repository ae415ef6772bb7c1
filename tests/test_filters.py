"""Part 1's shallow convolution: the NumPy version computes what PyTorch computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fashion_mnist_study.study.filters import (
    ERROR_COLUMNS,
    apply_filters_to_test_images,
    avg_pool2d_numpy,
    conv2d_numpy,
    conv_pool_numpy,
    conv_pool_torch,
    error_table,
)

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
# (examples, height, width), (filters, kernel height, kernel width)
CASES = [
    ((4, 28, 28), (3, 3, 3)),  # the study's setting
    ((2, 17, 23), (2, 3, 3)),  # non-square images, odd conv output 15x21
    ((3, 12, 9), (4, 5, 2)),  # non-square kernel, neither 3x3
    ((1, 6, 6), (1, 6, 6)),  # kernel as large as the image
    ((2, 10, 11), (1, 1, 1)),
]
SHAPES = pytest.mark.parametrize(("image_shape", "kernel_shape"), CASES)


def random_case(image_shape, kernel_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random(image_shape).astype(dtype)
    kernels = rng.standard_normal(kernel_shape).astype(dtype)
    return images, kernels


def torch_conv(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(images).unsqueeze(1)
    w = torch.from_numpy(kernels).unsqueeze(1)
    return F.conv2d(x, w).numpy()


@DTYPES
@SHAPES
def test_numpy_conv_matches_torch(image_shape, kernel_shape, dtype) -> None:
    images, kernels = random_case(image_shape, kernel_shape, dtype)
    ours = conv2d_numpy(images, kernels)
    n, h, w = image_shape
    f, kh, kw = kernel_shape
    assert ours.shape == (n, f, h - kh + 1, w - kw + 1)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, torch_conv(images, kernels), rtol=0, atol=TOLERANCE[dtype])


@DTYPES
@pytest.mark.parametrize(
    ("shape", "size", "stride"),
    [
        ((2, 3, 26, 26), 2, None),  # the study's 26x26 -> 13x13
        ((1, 2, 15, 21), 2, None),  # odd sides: torch drops the incomplete last window
        ((3, 1, 9, 7), 3, None),
        ((2, 2, 11, 8), 3, 2),  # overlapping windows
        ((1, 1, 5, 5), 5, None),  # one window covering everything
        ((4, 4), 2, 1),  # only the two axes that are pooled
    ],
)
def test_numpy_avg_pool_matches_torch(shape, size, stride, dtype) -> None:
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    ours = avg_pool2d_numpy(x, size, stride)
    x_t = torch.from_numpy(x)
    as_4d = x_t.reshape((1,) * (4 - x.ndim) + x.shape)
    theirs = F.avg_pool2d(as_4d, size, stride).reshape(ours.shape).numpy()
    effective_stride = size if stride is None else stride
    expected_shape = tuple((side - size) // effective_stride + 1 for side in shape[-2:])
    assert ours.shape == shape[:-2] + expected_shape
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE[dtype])


def test_odd_sized_pooling_drops_the_incomplete_window() -> None:
    x = np.arange(15, dtype=np.float64).reshape(3, 5)
    # windows [[0,1],[5,6]] and [[2,3],[7,8]]; the last column and row are dropped
    np.testing.assert_array_equal(avg_pool2d_numpy(x, 2), [[3.0, 5.0]])


def conv_side(image_shape, kernel_shape) -> int:
    return min(image_shape[1] - kernel_shape[1], image_shape[2] - kernel_shape[2]) + 1


@DTYPES
@pytest.mark.parametrize(
    ("image_shape", "kernel_shape", "pool"),
    [(i, k, pool) for i, k in CASES for pool in (1, 2, 3) if pool <= conv_side(i, k)],
)
def test_numpy_conv_pool_matches_conv_pool_torch(image_shape, kernel_shape, pool, dtype) -> None:
    images, kernels = random_case(image_shape, kernel_shape, dtype, seed=2)
    ours = conv_pool_numpy(images, kernels, pool)
    theirs = conv_pool_torch(images, kernels, pool)
    assert set(ours) == set(theirs) == {"conv", "pooled"}
    for key in ("conv", "pooled"):
        assert ours[key].shape == theirs[key].shape
        assert ours[key].dtype == theirs[key].dtype == dtype
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=TOLERANCE[dtype])


def test_conv_pool_torch_matches_torch_functional_directly() -> None:
    images, kernels = random_case((3, 13, 16), (2, 4, 3), np.float64, seed=3)
    out = conv_pool_torch(images, kernels, 2)
    conv = torch_conv(images, kernels)
    np.testing.assert_array_equal(out["conv"], conv)
    np.testing.assert_array_equal(out["pooled"], F.avg_pool2d(torch.from_numpy(conv), 2).numpy())


def test_conv_is_cross_correlation_not_convolution() -> None:
    image = np.zeros((1, 5, 5))
    image[0, 2, 2] = 1.0  # a single bright pixel
    kernel = np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3)  # asymmetric
    out = conv2d_numpy(image, kernel)[0, 0]
    # Cross-correlation of an impulse gives the kernel flipped; convolution gives it upright.
    np.testing.assert_array_equal(out, kernel[0, ::-1, ::-1])
    assert not np.array_equal(out, kernel[0])
    # And the top-left output is the plain (unflipped) weighted sum of the top-left window.
    rng = np.random.default_rng(4)
    images = rng.random((1, 4, 4))
    top_left = conv2d_numpy(images, kernel)[0, 0, 0, 0]
    assert top_left == pytest.approx(np.sum(images[0, :3, :3] * kernel[0]), abs=1e-12)


FLOAT = np.zeros((2, 8, 8), dtype=np.float32)
KERNELS = np.ones((1, 3, 3), dtype=np.float32)


@pytest.mark.parametrize(
    ("images", "kernels", "message"),
    [
        (np.zeros((8, 8), np.float32), KERNELS, "images must have 3 dimensions"),
        (np.zeros((1, 1, 8, 8), np.float32), KERNELS, "images must have 3 dimensions"),
        (FLOAT, np.ones((3, 3), np.float32), "kernels must have 3 dimensions"),
        (np.zeros((2, 8, 8), np.uint8), KERNELS, "images must be float32 or float64"),
        (FLOAT, np.ones((1, 3, 3), np.int64), "kernels must be float32 or float64"),
        (FLOAT, KERNELS.astype(np.float64), "images are float32 but kernels are float64"),
        (FLOAT, np.ones((1, 9, 3), np.float32), "kernel 9x3 is larger than the images"),
        (FLOAT, np.ones((1, 3, 9), np.float32), "kernel 3x9 is larger than the images"),
        (FLOAT.tolist(), KERNELS, "images must be a NumPy array"),
    ],
    ids=[
        "2d-images",
        "4d-images",
        "2d-kernels",
        "uint8-images",
        "int-kernels",
        "mismatched-dtypes",
        "kernel-taller",
        "kernel-wider",
        "list-images",
    ],
)
def test_conv_rejects_bad_inputs_naming_the_problem(images, kernels, message) -> None:
    with pytest.raises(ValueError, match=message):
        conv2d_numpy(images, kernels)


@pytest.mark.parametrize(
    ("x", "size", "stride", "message"),
    [
        (np.zeros((4, 4)), 5, None, "pool size 5 is larger than the input"),
        (np.zeros((2, 6, 3)), 4, None, "pool size 4 is larger than the input"),
        (np.zeros((4, 4)), 0, None, "must be positive"),
        (np.zeros((4, 4)), -2, None, "must be positive"),
        (np.zeros((4, 4)), 2, 0, "must be positive"),
        (np.zeros(4), 2, None, "at least two axes"),
        (np.zeros((4, 4), dtype=np.int32), 2, None, "must be float32 or float64"),
    ],
    ids=["too-large", "too-large-width", "zero", "negative", "zero-stride", "1d", "int"],
)
def test_pooling_rejects_bad_inputs_naming_the_problem(x, size, stride, message) -> None:
    with pytest.raises(ValueError, match=message):
        avg_pool2d_numpy(x, size, stride)


def test_conv_pool_rejects_a_pool_larger_than_the_conv_output() -> None:
    images, kernels = random_case((1, 6, 6), (1, 3, 3), np.float32)  # conv output 4x4
    with pytest.raises(ValueError, match="pool size 5 is larger"):
        conv_pool_numpy(images, kernels, pool=5)


def test_error_table_has_one_row_per_output_example_and_filter_in_that_order() -> None:
    images, kernels = random_case((3, 10, 10), (2, 3, 3), np.float32)
    table = error_table(conv_pool_numpy(images, kernels), conv_pool_torch(images, kernels))
    assert list(table.columns) == ERROR_COLUMNS
    assert list(table[["output", "example", "filter"]].itertuples(index=False, name=None)) == [
        (output, example, filt)
        for output in ("conv", "conv_pool")
        for example in range(3)
        for filt in range(2)
    ]
    rows = table.to_dict("records")
    assert all(0 <= r["max_abs_error"] <= r["euclidean_distance"] < 1e-4 for r in rows)


def test_error_table_measures_the_distance_of_a_hand_made_difference() -> None:
    numpy_out = {"conv": np.zeros((1, 2, 2, 2)), "pooled": np.zeros((1, 2, 1, 1))}
    torch_out = {"conv": np.zeros((1, 2, 2, 2)), "pooled": np.zeros((1, 2, 1, 1))}
    torch_out["conv"][0, 1] = [[3.0, 0.0], [0.0, -4.0]]  # distance 5, max error 4
    torch_out["pooled"][0, 0, 0, 0] = -0.5
    rows = {
        (r["output"], r["example"], r["filter"]): r
        for r in error_table(numpy_out, torch_out).to_dict("records")
    }
    assert rows[("conv", 0, 0)]["euclidean_distance"] == 0.0
    assert rows[("conv", 0, 1)]["euclidean_distance"] == pytest.approx(5.0)
    assert rows[("conv", 0, 1)]["max_abs_error"] == pytest.approx(4.0)
    assert rows[("conv_pool", 0, 0)]["euclidean_distance"] == pytest.approx(0.5)
    assert rows[("conv_pool", 0, 1)]["max_abs_error"] == 0.0


def test_error_table_rejects_outputs_of_different_shapes() -> None:
    a = {"conv": np.zeros((1, 1, 4, 4)), "pooled": np.zeros((1, 1, 2, 2))}
    b = {"conv": np.zeros((1, 1, 4, 5)), "pooled": np.zeros((1, 1, 2, 2))}
    with pytest.raises(ValueError, match="conv shapes differ"):
        error_table(a, b)


def filters_config(examples: list[int], dtype: str = "float32") -> dict:
    return {
        "examples": examples,
        "dtype": dtype,
        "pool": 2,
        "kernels": [
            {"name": "diagonal", "weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]},
            {"name": "vertical", "weights": [[0, 1, 0], [0, 1, 0], [0, 1, 0]]},
        ],
    }


X_TEST = np.random.default_rng(5).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("examples", [[6], [0, 6], [-1], [100]])
def test_apply_filters_rejects_examples_outside_the_test_split(examples) -> None:
    with pytest.raises(ValueError, match="outside the test split of 6 images"):
        apply_filters_to_test_images(X_TEST, filters_config(examples), "numpy")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_apply_filters_gives_the_same_numbers_in_numpy_and_torch(dtype) -> None:
    config = filters_config([0, 5, 2], dtype)
    ours = apply_filters_to_test_images(X_TEST, config, "numpy")
    theirs = apply_filters_to_test_images(X_TEST, config, "torch")
    assert ours["conv"].shape == (3, 2, 26, 26)
    assert ours["pooled"].shape == (3, 2, 13, 13)
    np.testing.assert_array_equal(ours["examples"], [0, 5, 2])
    assert list(ours["kernel_names"]) == ["diagonal", "vertical"]
    np.testing.assert_allclose(ours["images"][1], X_TEST[5] / 255, rtol=1e-7)
    tolerance = TOLERANCE[np.dtype(dtype).type]
    for key in ("conv", "pooled"):
        assert ours[key].dtype == np.dtype(dtype)
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=tolerance)


def test_apply_filters_rejects_an_unknown_implementation() -> None:
    with pytest.raises(ValueError, match="numpy or torch"):
        apply_filters_to_test_images(X_TEST, filters_config([0]), "jax")
