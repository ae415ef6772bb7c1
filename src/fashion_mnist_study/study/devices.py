"""The device a training runs on (the CPU, an NVIDIA GPU through CUDA, or Apple silicon's GPU
through MPS) and, in one place, what each kind supports: the training code asks here instead
of testing the device's type itself."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

DEVICE_SETTINGS = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceSupport:
    """What the training code may use on one kind of device."""

    gpu: bool  # a GPU with its own memory, random state and queue of work
    cuda_graphs: bool  # TrainStep records a full batch's step once and replays it
    tf32: bool  # the fp32_precision switches of torch.backends.cuda and cudnn take effect
    cudnn: bool  # cuDNN's determinism flags apply
    # Images per evaluation batch. On the CPU, a 64-image batch's activations stay in the
    # caches; at 2,048 the max pools became memory-bound and evaluation ran at half the speed.
    eval_batch_size: int


SUPPORT = {
    "cpu": DeviceSupport(gpu=False, cuda_graphs=False, tf32=False, cudnn=False, eval_batch_size=64),
    "cuda": DeviceSupport(gpu=True, cuda_graphs=True, tf32=True, cudnn=True, eval_batch_size=2048),
    # PyTorch has no graph capture and no TF32 switch for Apple's GPU. Its evaluation batch is
    # CUDA's, not measured on a Mac: a GPU works on a batch's images in parallel, and fewer
    # batches are fewer launches.
    "mps": DeviceSupport(
        gpu=True, cuda_graphs=False, tf32=False, cudnn=False, eval_batch_size=2048
    ),
}


def support(device: torch.device) -> DeviceSupport:
    return SUPPORT[device.type]


def resolve_device(setting: str) -> torch.device:
    """`auto` picks CUDA when a GPU is visible, else Apple's GPU (MPS), else the CPU; `cuda` or
    `mps` where PyTorch sees no such GPU is an error naming the setting."""
    if setting not in DEVICE_SETTINGS:
        raise ValueError(f"training.device must be auto, cpu, cuda or mps, got {setting!r}")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "training.device is 'cuda' but PyTorch sees no GPU "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); "
            "set training.device to auto or cpu"
        )
    if setting == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(
            "training.device is 'mps' but PyTorch sees no Apple GPU (MPS needs a Mac with "
            "Apple silicon, macOS 14 or newer, and a PyTorch built with MPS); "
            "set training.device to auto or cpu"
        )
    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    return torch.device(setting)


def skipped_on(device: torch.device, tf32: bool) -> str | None:
    """The log's line naming what the CUDA path does that this device's training goes without,
    or None where nothing is skipped (CUDA) or nothing would apply (the CPU)."""
    if not support(device).gpu:
        return None
    skipped = []
    if not support(device).cuda_graphs:
        skipped.append("no CUDA graphs (each step's kernels are launched one by one)")
    if tf32 and not support(device).tf32:
        skipped.append("TF32 not applied (tf32 is set, and only CUDA has it)")
    if not skipped:
        return None
    return f"on {device.type}, unlike CUDA: " + "; ".join(skipped)


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on the GPU (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def rng_states(device: torch.device) -> dict[str, torch.Tensor]:
    """The GPU's random state, keyed by its kind, for a checkpoint (the CPU's is kept apart)."""
    if device.type == "cuda":
        return {"rng_cuda": torch.cuda.get_rng_state(device)}
    if device.type == "mps":
        return {"rng_mps": torch.mps.get_rng_state()}
    return {}


def restore_rng_states(device: torch.device, state: dict) -> None:
    """Set the GPU's random state from a checkpoint that `rng_states` filled. The checkpoint
    was loaded onto the device; generators take their state from the CPU."""
    if device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"].cpu())
    elif device.type == "mps":
        torch.mps.set_rng_state(state["rng_mps"].cpu())


def peak_gpu_bytes(device: torch.device) -> int | None:
    """On a CUDA GPU, PyTorch's peak allocation; on Apple's GPU, which keeps no peak, the Metal
    driver's allocation for this process now (its cached blocks included); None on a CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    if device.type == "mps":
        return torch.mps.driver_allocated_memory()
    return None


def device_name(device: torch.device) -> str:
    """The device as a result names it: the CUDA GPU's model, else `cpu` or `mps`."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
