"""The arithmetic a training runs in: float32, or bfloat16 mixed precision (PyTorch's autocast
over float32 weights and Adam state), and whether float32 matmuls may use TF32 on a GPU."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from fashion_mnist_study.study.devices import support

PRECISIONS = ("float32", "bfloat16")
CPUINFO = Path("/proc/cpuinfo")
# CPU flags of a native bfloat16 dot product: AVX512-BF16 and AMX on x86 (Linux's names),
# BF16 on Arm (Armv8.6's FEAT_BF16).
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Where the forward pass and the loss run: in bfloat16 for `bfloat16` (matmuls and
    convolutions; autocast keeps reductions such as the loss in float32), as they are for
    `float32`.

    Why no weight cache where steps replay a CUDA graph: the graph records the step once, and
    autocast's cache of bfloat16 weight copies would freeze the first step's copies into it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    cache = not support(device).cuda_graphs
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache)


def use_tf32(enabled: bool) -> None:
    """TF32 (10-bit mantissa) for float32 matmuls and convolutions on a CUDA GPU, only when
    asked: PyTorch's default lets cuDNN convolutions use it, so a float32 GPU run would not be
    float32 throughout. No effect on a CPU or on Apple's GPU (MPS)."""
    fp32_precision = "tf32" if enabled else "ieee"
    torch.backends.cuda.matmul.fp32_precision = fp32_precision
    torch.backends.cudnn.conv.fp32_precision = fp32_precision


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The CPU's feature flags as Linux lists them (x86 `flags`, Arm `Features`); empty where
    there is no /proc/cpuinfo."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


def native_bfloat16(device: torch.device, cpuinfo: Path = CPUINFO) -> bool:
    """Whether `device` multiplies bfloat16 in hardware rather than emulating it (on a CPU
    without it, PyTorch's bfloat16 matmul ran 365 times slower than float32, measured here).

    On Apple's GPU, PyTorch computes in bfloat16 from macOS 14 on and has no way to ask whether
    the chip does so natively: macOS 14 is taken as the answer."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "mps":
        return torch.backends.mps.is_macos_or_newer(14, 0)
    flags = cpu_flags(cpuinfo)
    if flags:
        return bool(flags & NATIVE_BF16_FLAGS)
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()  # no /proc/cpuinfo: oneDNN's answer


def emulation_warning(device: torch.device, precision: str, native: bool) -> str | None:
    """The log's warning when a bfloat16 training will run emulated, else None."""
    if precision != "bfloat16" or native:
        return None
    if support(device).gpu:
        what = "this GPU"
    else:
        what = f"this CPU (none of the flags {', '.join(sorted(NATIVE_BF16_FLAGS))})"
    return (
        f"warning: {what} has no native bfloat16; PyTorch emulates it, so this "
        "training runs far slower than in float32 (the results are still bfloat16's)"
    )
