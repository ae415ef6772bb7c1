"""Shallow convolution of the study's part 1: valid cross-correlation then average pooling.

The NumPy version follows `torch.nn.functional.conv2d` exactly (cross-correlation, no kernel
flip) so the two implementations can be compared number for number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def _check_float_array(name: str, array: np.ndarray, ndim: int) -> None:
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array, got {type(array).__name__}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    if array.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {array.dtype}")


def conv2d_numpy(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of every image with every kernel.

    images: (N, H, W); kernels: (F, kh, kw), same dtype. Returns (N, F, H-kh+1, W-kw+1).
    """
    _check_float_array("images", images, 3)
    _check_float_array("kernels", kernels, 3)
    if images.dtype != kernels.dtype:
        raise ValueError(f"images are {images.dtype} but kernels are {kernels.dtype}")
    kh, kw = kernels.shape[1:]
    if kh > images.shape[1] or kw > images.shape[2]:
        raise ValueError(f"kernel {kh}x{kw} is larger than the images {images.shape[1:]}")
    windows = sliding_window_view(images, (kh, kw), axis=(1, 2))  # (N, H', W', kh, kw)
    return np.einsum("nyxij,fij->nfyx", windows, kernels, optimize=True)


def avg_pool2d_numpy(x: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Average pooling over the last two axes, dropping incomplete windows like torch's default."""
    stride = size if stride is None else stride
    if size < 1 or stride < 1:
        raise ValueError(f"pool size and stride must be positive, got {size} and {stride}")
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise ValueError("pooling needs an array with at least two axes")
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"pooling input must be float32 or float64, got {x.dtype}")
    if size > x.shape[-2] or size > x.shape[-1]:
        raise ValueError(f"pool size {size} is larger than the input {x.shape[-2:]}")
    windows = sliding_window_view(x, (size, size), axis=(-2, -1))[..., ::stride, ::stride, :, :]
    return windows.mean(axis=(-2, -1), dtype=x.dtype)


def conv_pool_numpy(
    images: np.ndarray, kernels: np.ndarray, pool: int = 2
) -> dict[str, np.ndarray]:
    conv = conv2d_numpy(images, kernels)
    return {"conv": conv, "pooled": avg_pool2d_numpy(conv, pool)}


def conv_pool_torch(
    images: np.ndarray, kernels: np.ndarray, pool: int = 2
) -> dict[str, np.ndarray]:
    """The same computation with `torch.nn.functional.conv2d` and `avg_pool2d` on the CPU."""
    import torch
    import torch.nn.functional as F

    _check_float_array("images", images, 3)
    _check_float_array("kernels", kernels, 3)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)  # (N, 1, H, W)
        w = torch.from_numpy(np.ascontiguousarray(kernels)).unsqueeze(1)  # (F, 1, kh, kw)
        conv = F.conv2d(x, w)
        pooled = F.avg_pool2d(conv, pool)
    return {"conv": conv.numpy(), "pooled": pooled.numpy()}


def example_images(x_test: np.ndarray, examples: list[int], dtype: str) -> np.ndarray:
    """The chosen test images scaled to [0, 1] in the requested float dtype."""
    bad = [i for i in examples if not 0 <= i < len(x_test)]
    if bad:
        raise ValueError(
            f"filters.examples {bad} are outside the test split of {len(x_test)} images"
        )
    return x_test[examples].astype(FLOAT_DTYPES[dtype]) / FLOAT_DTYPES[dtype](255)


def kernel_stack(kernels: list[dict], dtype: str) -> np.ndarray:
    """Stack the config's kernels ({name, weights}) into an (F, kh, kw) array."""
    arrays = [np.asarray(kernel["weights"], dtype=FLOAT_DTYPES[dtype]) for kernel in kernels]
    shapes = {array.shape for array in arrays}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"filters.kernels must all be 2-D and of one shape, got {shapes}")
    return np.stack(arrays)


def error_table(numpy_out: dict[str, np.ndarray], torch_out: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per output, example (its test-set index) and filter: Euclidean distance, max abs error
    (ERROR_COLUMNS), in that order."""
    test_indices = numpy_out.get("examples", np.arange(numpy_out["conv"].shape[0]))
    tables = []
    for output, key in (("conv", "conv"), ("conv_pool", "pooled")):
        a, b = numpy_out[key], torch_out[key]
        if a.shape != b.shape:
            raise ValueError(f"{key} shapes differ: NumPy {a.shape}, PyTorch {b.shape}")
        difference = a.astype(np.float64) - b.astype(np.float64)
        n_examples, n_filters = a.shape[:2]
        tables.append(
            pd.DataFrame(
                {
                    "output": output,
                    "example": np.repeat(np.asarray(test_indices, dtype=int), n_filters),
                    "filter": np.tile(np.arange(n_filters), n_examples),
                    "euclidean_distance": np.sqrt(np.sum(difference**2, axis=(2, 3))).ravel(),
                    "max_abs_error": np.abs(difference).max(axis=(2, 3)).ravel(),
                }
            )
        )
    return pd.concat(tables, ignore_index=True)[ERROR_COLUMNS]


ERROR_COLUMNS = ["output", "example", "filter", "euclidean_distance", "max_abs_error"]
IMPLEMENTATIONS = {"numpy": conv_pool_numpy, "torch": conv_pool_torch}


def apply_filters_to_test_images(
    x_test: np.ndarray, filters_config: dict, implementation: str
) -> dict[str, np.ndarray]:
    """Run one implementation on the configured examples and kernels (config `filters`)."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be numpy or torch, got {implementation!r}")
    dtype = filters_config["dtype"]
    images = example_images(x_test, list(filters_config["examples"]), dtype)
    kernels = kernel_stack(list(filters_config["kernels"]), dtype)
    outputs = IMPLEMENTATIONS[implementation](images, kernels, int(filters_config["pool"]))
    return {
        **outputs,
        "images": images,
        "kernels": kernels,
        "examples": np.asarray(filters_config["examples"]),
        "pool": np.asarray(int(filters_config["pool"])),
        "kernel_names": np.asarray([kernel["name"] for kernel in filters_config["kernels"]]),
    }
